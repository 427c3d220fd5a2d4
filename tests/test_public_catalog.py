"""The public catalog of funded projects, its map and its open data: no sign-in, and nothing
private. Private strings are planted everywhere the program keeps them (reviews, contacts,
addresses, justifications, drafts, unaccepted reports, applications not awarded) and looked for
in the page, the JSON and the CSV."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.charts import SHADES
from app.domain import INDICATORS, PRIORITY_AREAS
from app.extensions import db
from app.models.award import Award
from app.models.review import Review
from app.models.user import User
from app.services import program_data as data
from app.services import program_exports as exports
from app.services.tilemap import TILES
from app.views import catalog
from tests.decision_helpers import (
    jobs_settled,  # noqa: F401  (autouse)
    quiet_commit,
)
from tests.factories import Factory, SignIn
from tests.program_helpers import (
    SIGNATURE,
    Funded,
    Spec,
    accept_report,
    file_report,
    funded_round,
    grantee_of,
    reports_of,
    request_changes,
    values,
)
from workflows import fire

# What the program keeps but never publishes.
PRIVATE = {
    "review strengths": "Strength-Xq7 only the panel reads",
    "review staff comments": "StaffNote-Kw3 for the office",
    "authorized official": "Bartholomew Quillfeather",
    "official's name at acceptance": SIGNATURE["name"],
    "official's title at acceptance": SIGNATURE["title"],
    "grantee email": "grants.lead@quietcity.example.gov",
    "street address": "742 Evergreen Terrace",
    "justification": "Justified-Zp9 above the ranking",
    "draft narrative": "DraftNarrative-Mm5 not yet filed",
    "submitted, unaccepted value": "987654",
    "changes-requested value": "876543",
    "draft value": "765432",
    "application narrative": "NeedNarrative-Jj2 of the application",
    "declined application": "Unfunded-Title-Hh8",
    "offer not accepted": "Offered-Title-Ww4",
    "partner organization": "Testville University",
    "budget line": "Coordinator",
}
NUMBER_FORMS = ("987654", "987,654", "876543", "876,543", "765432", "765,432", "987.7K", "876.5K")


class World:
    def __init__(self, make: Factory) -> None:
        self.officer = make.officer()
        self.program: Funded = funded_round(
            make,
            self.officer,
            [
                Spec(
                    title="Quiet City harbor exchange",
                    jurisdiction="City of Quiet Harbor",
                    state_code="ME",
                    areas=("climate", "trade"),
                    countries=("NO", "IS"),
                    amount=120_000,
                    street=PRIVATE["street address"],
                    official_name=PRIVATE["authorized official"],
                    email=PRIVATE["grantee email"],
                    strengths=PRIVATE["review strengths"],
                    staff_comments=PRIVATE["review staff comments"],
                    need=PRIVATE["application narrative"],
                ),
                Spec(
                    title="Lone Star trade corridor",
                    jurisdiction="State of Texas",
                    state_code="TX",
                    government_type="state",
                    areas=("trade",),
                    countries=("MX",),
                    amount=200_000,
                ),
                Spec(
                    title="Pacific health partnership",
                    jurisdiction="King County",
                    state_code="WA",
                    government_type="county",
                    areas=("health",),
                    countries=("JP", "KR"),
                    amount=90_000,
                ),
                Spec(title=PRIVATE["offer not accepted"], state_code="NV", accepted=False),
                Spec(title=PRIVATE["declined application"], state_code="AZ", funded=False),
            ],
            justification=PRIVATE["justification"],
            title="2026 round",
        )
        harbor, texas, king, _offered = self.program.awards
        self.harbor, self.texas, self.king = harbor, texas, king
        first, final = reports_of(harbor)
        file_report(first, grantee_of(harbor), values(jobs=12, fdi_usd=300_000))
        accept_report(first, self.officer)
        file_report(
            final,
            grantee_of(harbor),
            values(jobs=PRIVATE["draft value"]),
            narrative=PRIVATE["draft narrative"],
            submit=False,
        )
        first, final = reports_of(texas)
        file_report(first, grantee_of(texas), values(jobs=PRIVATE["submitted, unaccepted value"]))
        first, final = reports_of(king)
        file_report(first, grantee_of(king), values(jobs=7, people_reached=4_000))
        accept_report(first, self.officer)
        file_report(final, grantee_of(king), values(jobs=PRIVATE["changes-requested value"]))
        request_changes(final, self.officer)
        # A draft round whose title is not public yet.
        self.draft_round = make.round(state="draft", title="Secret-Draft-Round-Yy1")


@pytest.fixture
def world(make: Factory) -> World:
    return World(make)


def text_of(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


# --- the page ------------------------------------------------------------------------------------


def test_anyone_sees_every_funded_project_with_its_public_facts(app: Flask, world: World) -> None:
    html = text_of(app.test_client().get("/catalog"))
    assert "Catalog of funded projects" in html
    for title in ("Quiet City harbor exchange", "Lone Star trade corridor"):
        assert title in html
    harbor = html.split('id="p-' + world.harbor.number + '"', 1)[1].split("</article>", 1)[0]
    assert "City of Quiet Harbor · City · Maine" in harbor
    assert "$120,000" in harbor
    assert "Accepted" in harbor
    assert f"{world.harbor.number}, 2026 round" in harbor
    assert "Climate and energy; Trade, investment and tourism" in harbor
    assert "Norway, Iceland" in harbor
    assert f"{INDICATORS['jobs']}: 12" in harbor
    assert f"{INDICATORS['fdi_usd']}: $300,000" in harbor
    assert "From 1 accepted report." in harbor
    texas = html.split('id="p-' + world.texas.number + '"', 1)[1].split("</article>", 1)[0]
    assert "No accepted report yet." in texas
    # The headline figures: three projects, their amount, the accepted outcomes.
    assert re.search(r'l2g-figures__value">3</span> funded projects', html)
    assert '<span class="l2g-figures__value">$410,000</span> awarded' in html
    assert "Achieved so far, according to accepted impact reports:" in html
    assert '<span class="l2g-figures__value">19</span> jobs created' in html
    assert '<span class="l2g-figures__value">$300K</span> foreign direct investment' in html


def test_the_catalog_is_in_everyones_navigation(app: Flask, make: Factory, login: SignIn) -> None:
    for client in (app.test_client(), login(make.applicant())):
        html = text_of(client.get("/catalog"))
        nav = html.split('aria-label="Primary navigation"', 1)[1].split("</nav>", 1)[0]
        assert '<a class="l2g-nav__link" href="/catalog">Catalog of funded projects</a>' in nav
    html = text_of(login(make.reviewer()).get("/catalog"))
    assert "Catalog of funded projects" in html


def test_nothing_private_in_the_page_the_json_or_the_csv(app: Flask, world: World) -> None:
    client = app.test_client()
    files = {
        "page": text_of(client.get("/catalog")),
        "page of Maine": text_of(client.get("/catalog?state=ME")),
        "page of trade": text_of(client.get("/catalog?area=trade")),
        "JSON": text_of(client.get("/catalog/awards.json")),
        "CSV": text_of(client.get("/catalog/awards.csv")),
        "CSV of Maine": text_of(client.get("/catalog/awards.csv?state=ME")),
    }
    emails = [u.email for u in db.session.query(User).all()]
    assert PRIVATE["grantee email"] in emails
    # The secrets are really in the database, where the program keeps them.
    harbor = db.session.get(Award, world.harbor.id)
    assert harbor.justification == PRIVATE["justification"]
    assert harbor.accepted_name == SIGNATURE["name"]
    assert harbor.organization.street == PRIVATE["street address"]
    assert harbor.organization.official_name == PRIVATE["authorized official"]
    assert harbor.application.need == PRIVATE["application narrative"]
    review = db.session.scalar(select(Review).where(Review.application_id == harbor.application_id))
    assert review.strengths == PRIVATE["review strengths"]
    assert review.staff_comments == PRIVATE["review staff comments"]
    draft = reports_of(harbor)[1]
    assert draft.accomplishments == PRIVATE["draft narrative"] and draft.state == "scheduled"
    assert draft.indicators["jobs"] == PRIVATE["draft value"]
    for name, text in files.items():
        assert "Quiet City harbor exchange" in text, name  # the public part is there
        for what, secret in PRIVATE.items():
            assert secret not in text, f"{what} in the {name}"
        for form in NUMBER_FORMS:
            assert form not in text, f"{form} in the {name}"
        for email in emails:
            assert email not in text, f"{email} in the {name}"
        assert "@" not in text and "example.gov" not in text, name
        assert "Secret-Draft-Round-Yy1" not in text, name
        assert not re.search(r"score|justif|reviewer|strength|comment", text, re.I), name


def test_the_json_fields_are_exactly_the_whitelist(app: Flask, world: World) -> None:
    payload = json.loads(text_of(app.test_client().get("/catalog/awards.json")))
    assert payload["count"] == 3 == len(payload["awards"])
    assert payload["indicators"] == INDICATORS
    for record in payload["awards"]:
        assert set(record) == set(exports.PUBLIC_FIELDS)
    harbor = next(r for r in payload["awards"] if r["award_number"] == world.harbor.number)
    assert harbor == {
        "award_number": world.harbor.number,
        "project_title": "Quiet City harbor exchange",
        "summary": "Quiet City harbor exchange: a public summary.",
        "jurisdiction": "City of Quiet Harbor",
        "government_type": "City",
        "state": "ME",
        "state_name": "Maine",
        "round": "2026 round",
        "amount": 120000,
        "period_start": world.harbor.start_date.isoformat(),
        "period_end": world.harbor.end_date.isoformat(),
        "priority_areas": [PRIORITY_AREAS["climate"], PRIORITY_AREAS["trade"]],
        "partner_countries": ["Norway", "Iceland"],
        "status": "Accepted",
        "accepted_reports": 1,
        "outcomes": {**{code: 1 for code in INDICATORS}, "jobs": 12, "fdi_usd": 300000},
    }
    texas = next(r for r in payload["awards"] if r["award_number"] == world.texas.number)
    assert texas["outcomes"] == {} and texas["accepted_reports"] == 0


def test_the_whitelist_is_one_place() -> None:
    fact = data.AwardFacts(
        award_id=1,
        number="L2G-2026-A0001",
        amount=Decimal("1000.50"),
        state="active",
        round_id=1,
        round_title="R",
        application_id=1,
        project_title="T",
        summary="S",
        organization="O",
        government_type="tribal",
        state_code="OK",
        partner_countries=["FR", "XX"],
        priority_areas=["gender"],
        outcomes={"jobs": Decimal(3)},
        targets={"jobs": Decimal(9)},  # targets are not published
    )
    record = exports.public_record(fact)
    assert set(record) == set(exports.PUBLIC_FIELDS)
    assert "targets" not in record
    assert record["amount"] == 1000.5
    assert record["government_type"] == "Tribal government"
    assert record["partner_countries"] == ["France", "XX"]
    assert record["status"] == "Active"
    assert record["outcomes"] == {"jobs": 3}
    row = exports.public_csv_row(record)
    assert len(row) == len(exports.PUBLIC_CSV_COLUMNS)


def test_the_csv_carries_the_json_records(app: Flask, world: World) -> None:
    client = app.test_client()
    payload = json.loads(text_of(client.get("/catalog/awards.json")))
    response = client.get("/catalog/awards.csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    rows = list(csv.DictReader(io.StringIO(text_of(response))))
    assert list(rows[0]) == list(exports.PUBLIC_CSV_COLUMNS)
    assert [r["award_number"] for r in rows] == [a["award_number"] for a in payload["awards"]]
    for row, record in zip(rows, payload["awards"], strict=True):
        assert row["project_title"] == record["project_title"]
        assert row["priority_areas"] == "; ".join(record["priority_areas"])
        assert row["partner_countries"] == "; ".join(record["partner_countries"])
        assert Decimal(row["amount"]) == Decimal(str(record["amount"]))
        for code in INDICATORS:
            expected = record["outcomes"].get(code)
            assert row[f"outcome_{code}"] == ("" if expected is None else str(expected))


# --- filters -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ("state=TX", {"Lone Star trade corridor"}),
        ("area=trade", {"Lone Star trade corridor", "Quiet City harbor exchange"}),
        ("government_type=county", {"Pacific health partnership"}),
        ("area=gender", set()),
        ("state=NV", set()),  # an offer not yet accepted is not public
        ("state=ZZ&area=bogus", None),  # unknown values are ignored: everything
    ],
)
def test_filters_apply_to_the_page_the_json_and_the_csv(
    app: Flask, world: World, query: str, titles: set[str] | None
) -> None:
    everything = {
        "Quiet City harbor exchange",
        "Lone Star trade corridor",
        "Pacific health partnership",
    }
    expected = everything if titles is None else titles
    client = app.test_client()
    payload = json.loads(text_of(client.get(f"/catalog/awards.json?{query}")))
    assert {r["project_title"] for r in payload["awards"]} == expected
    rows = list(csv.DictReader(io.StringIO(text_of(client.get(f"/catalog/awards.csv?{query}")))))
    assert {r["project_title"] for r in rows} == expected
    html = text_of(client.get(f"/catalog?{query}"))
    shown = set(re.findall(r'<h3 id="p-[^"]+">([^<]+)</h3>', html))
    assert shown == expected
    if not expected:
        assert "No funded project matches these filters." in html
    # The open-data links keep the filters.
    if titles is not None:
        assert f"/catalog/awards.json?{query.split('&')[0]}" in html.replace("&amp;", "&")


def test_round_filter_lists_only_rounds_with_public_awards(app: Flask, world: World) -> None:
    client = app.test_client()
    html = text_of(client.get("/catalog"))
    assert f'<option value="{world.program.round.id}"' in html
    assert f'<option value="{world.draft_round.id}"' not in html
    filtered = text_of(client.get(f"/catalog?round={world.program.round.id}"))
    assert len(re.findall(r'<h3 id="p-', filtered)) == 3
    assert "No funded project" in text_of(client.get(f"/catalog?round={world.draft_round.id}"))


def test_pages_of_projects(app: Flask, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog, "PAGE_SIZE", 2)
    client = app.test_client()
    first = text_of(client.get("/catalog"))
    second = text_of(client.get("/catalog?page=2"))
    beyond = text_of(client.get("/catalog?page=99"))  # the last page
    titles = [re.findall(r'<h3 id="p-[^"]+">([^<]+)</h3>', h) for h in (first, second, beyond)]
    assert len(titles[0]) == 2 and len(titles[1]) == 1 and titles[2] == titles[1]
    assert set(titles[0]) | set(titles[1]) == {
        "Quiet City harbor exchange",
        "Lone Star trade corridor",
        "Pacific health partnership",
    }
    assert "page 1 of 2" in first and 'href="/catalog?page=2#projects"' in first
    assert 'href="/catalog?page=1#projects"' in second
    # Paging does not change the totals or the map.
    assert re.search(r'l2g-figures__value">3</span> funded projects', second)


# --- the map -------------------------------------------------------------------------------------


def test_the_map_has_every_state_and_links_the_funded_ones(app: Flask, world: World) -> None:
    html = text_of(app.test_client().get("/catalog?area=trade"))
    svg = html.split('<svg class="l2g-map"', 1)[1].split("</svg>", 1)[0]
    assert 'role="group" aria-labelledby="h-map" aria-describedby="map-desc"' in svg
    for code in TILES:
        assert f">{code}</text>" in svg, code
    links = dict(re.findall(r'<a class="l2g-map__tile" href="([^"]+)" aria-label="([^"]+)"', svg))
    # Filtered by area, the map shows every state with a trade project, each a link that keeps
    # the area and adds the state.
    assert set(links.values()) == {
        "Maine: 1 project, $120,000. Show only Maine.",
        "Texas: 1 project, $200,000. Show only Texas.",
    }
    assert "/catalog?area=trade&amp;state=TX#projects" in links
    assert ">1 project</text>" in svg and ">$200K</text>" in svg and ">$120K</text>" in svg
    # The larger amount is the darker shade; a state without a project is grey and no link.
    texas_fill = re.search(r'fill="(#[0-9a-f]+)"[^>]*/>\s*<text[^>]*>TX<', svg)
    maine_fill = re.search(r'fill="(#[0-9a-f]+)"[^>]*/>\s*<text[^>]*>ME<', svg)
    assert texas_fill and maine_fill
    shades = [fill for fill, _ in SHADES]
    assert shades.index(texas_fill.group(1)) > shades.index(maine_fill.group(1))
    assert re.search(
        r'<g aria-hidden="true">\s*<rect[^>]*fill="#f0f0f0"[^>]*/>\s*<text[^>]*>WA<', svg
    )
    # The same figures as a table, each state a link too.
    table = html.split("<summary>", 1)[1].split("</table>", 1)[0]
    assert "2 states and territories with funded projects" in table
    assert re.search(r">Maine</a></th><td[^>]*>1</td><td[^>]*>\$120,000</td>", table)
    assert re.search(r">Texas</a></th><td[^>]*>1</td><td[^>]*>\$200,000</td>", table)


def test_a_chosen_state_is_marked_on_the_map(app: Flask, world: World) -> None:
    html = text_of(app.test_client().get("/catalog?state=WA"))
    assert "Projects in Washington" in html
    svg = html.split('<svg class="l2g-map"', 1)[1].split("</svg>", 1)[0]
    assert "Washington: 1 project, $90,000 (shown now). Show only Washington." in svg
    assert 'stroke="#1b1b1b" stroke-width="4"' in svg
    # The map still shows the other states, to move between them.
    assert "Texas: 1 project, $200,000. Show only Texas." in svg


def test_an_empty_catalog(app: Flask) -> None:
    client = app.test_client()
    html = text_of(client.get("/catalog"))
    assert "No funded project matches these filters." in html
    assert json.loads(text_of(client.get("/catalog/awards.json")))["awards"] == []
    assert text_of(client.get("/catalog/awards.csv")).splitlines() == [
        ",".join(exports.PUBLIC_CSV_COLUMNS)
    ]


def test_active_and_suspended_awards_stay_public(app: Flask, world: World) -> None:
    award = db.session.get(Award, world.texas.id)
    officer = db.session.get(User, world.officer.id)
    fire(award, "activate", officer)
    fire(award, "suspend", officer, comment="Cost share not documented.")
    quiet_commit()
    payload = json.loads(text_of(app.test_client().get("/catalog/awards.json?state=TX")))
    assert [r["status"] for r in payload["awards"]] == ["Suspended"]


# --- the cached, versioned answers (issue 9) -----------------------------------------------------

CATALOG_URLS = ("/catalog", "/catalog/awards.json", "/catalog/awards.csv")


def etags(client: Any, query: str = "") -> dict[str, str]:
    """Each catalog answer's ETag for `query`, checked to be a 200 that carries one."""
    found = {}
    for url in CATALOG_URLS:
        response = client.get(url + query)
        assert response.status_code == 200 and response.headers.get("ETag"), url
        found[url] = response.headers["ETag"]
    return found


def test_the_etag_changes_with_an_award_transition_and_not_otherwise(
    app: Flask, world: World, make: Factory
) -> None:
    client = app.test_client()
    before = etags(client)
    assert etags(client) == before  # asked again: the same version
    # Writes the catalog does not show: a report filed (not accepted), changes requested on one,
    # a draft saved, a new round, an award offered but not accepted.
    first, final = reports_of(world.texas)
    file_report(final, grantee_of(world.texas), values(jobs=5))
    request_changes(final, world.officer)
    file_report(final, grantee_of(world.texas), values(jobs=6), submit=False)
    make.round(state="draft", title="Another draft round")
    quiet_commit()
    assert etags(client) == before
    # An award transition changes every answer, and the new answers show it.
    award = db.session.get(Award, world.texas.id)
    fire(award, "activate", db.session.get(User, world.officer.id))
    quiet_commit()
    activated = etags(client)
    assert all(activated[url] != before[url] for url in CATALOG_URLS)
    payload = json.loads(text_of(client.get("/catalog/awards.json?state=TX")))
    assert [r["status"] for r in payload["awards"]] == ["Active"]
    # So does an accepted report (its outcomes are published).
    accept_report(first, world.officer)
    assert all(etags(client)[url] != activated[url] for url in CATALOG_URLS)
    payload = json.loads(text_of(client.get("/catalog/awards.json?state=TX")))
    assert payload["awards"][0]["accepted_reports"] == 1


def test_a_matching_if_none_match_is_answered_304_without_building(
    app: Flask,
    world: World,
    count_queries: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = app.test_client()
    tags = etags(client, "?area=trade")

    def no_rebuild(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the catalog was rebuilt for a 304")

    for name in ("award_facts", "state_totals", "outcome_totals", "public_rounds"):
        monkeypatch.setattr(data, name, no_rebuild)
    for url, tag in tags.items():
        db.session.remove()
        with count_queries() as q:
            response = client.get(url + "?area=trade", headers={"If-None-Match": tag})
        assert response.status_code == 304, url
        assert response.headers["ETag"] == tag and response.get_data() == b""
        assert q.count == 1, (url, q.statements)  # the version, nothing else


def test_a_warm_request_runs_at_most_two_queries(
    app: Flask, world: World, count_queries: Any, login: SignIn
) -> None:
    anonymous, officer = app.test_client(), login(world.officer)
    for client in (anonymous, officer):
        for url in ("/catalog?area=trade", "/catalog/awards.json?area=trade"):
            cold = client.get(url).get_data()
            db.session.remove()
            with count_queries() as q:
                warm = client.get(url)
            assert warm.status_code == 200
            # The version; for a signed-in person also their account.
            assert q.count <= 2, (url, q.statements)
            if url.endswith(".json"):
                assert warm.get_data() == cold


def test_filters_and_pages_are_part_of_the_key(
    app: Flask, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog, "PAGE_SIZE", 2)
    client = app.test_client()

    def states(query: str) -> list[str]:
        payload = json.loads(text_of(client.get("/catalog/awards.json" + query)))
        return [r["state"] for r in payload["awards"]]

    for _ in range(2):  # built, then from the cache: each filter keeps its own answer
        assert states("?state=TX") == ["TX"]
        assert states("?state=WA") == ["WA"]
        assert states("?area=trade") == ["ME", "TX"]
        assert sorted(states("")) == ["ME", "TX", "WA"]
    texas = etags(client, "?state=TX")
    assert all(texas[url] != etags(client, "?state=WA")[url] for url in CATALOG_URLS)
    # The same filters however they are spelt: one key.
    assert etags(client, "?state=tx&unknown=1") == texas
    first = text_of(client.get("/catalog"))
    second = text_of(client.get("/catalog?page=2"))
    assert first != second and text_of(client.get("/catalog?page=2")) == second
    assert client.get("/catalog").headers["ETag"] != client.get("/catalog?page=2").headers["ETag"]


def test_a_signed_in_visitor_never_shares_the_anonymous_page(
    app: Flask, world: World, login: SignIn
) -> None:
    anonymous, officer = app.test_client(), login(world.officer)
    assert "Sign in" in text_of(anonymous.get("/catalog"))
    response = officer.get("/catalog")
    html = text_of(response)
    # Built from the same cached data, but with the officer's own header and no shared ETag.
    assert "Sign out" in html and "Lone Star trade corridor" in html
    assert "ETag" not in response.headers
    assert "Sign out" not in text_of(anonymous.get("/catalog"))
    tag = anonymous.get("/catalog").headers["ETag"]
    assert officer.get("/catalog", headers={"If-None-Match": tag}).status_code == 200


def test_the_catalog_answers_without_its_cache(
    app: Flask, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError

    from app.extensions import cache

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise RedisConnectionError("Redis is down")

    monkeypatch.setattr(cache, "get", unreachable)
    monkeypatch.setattr(cache, "set", unreachable)
    payload = json.loads(text_of(app.test_client().get("/catalog/awards.json")))
    assert payload["count"] == 3
    assert "Lone Star trade corridor" in text_of(app.test_client().get("/catalog"))


def test_the_version_changes_when_the_transition_commits_and_not_if_it_is_undone(
    app: Flask, world: World
) -> None:
    from app.services import catalog as catalog_service

    before = catalog_service.current_version()
    quiet_commit()
    award = db.session.get(Award, world.texas.id)
    fire(award, "activate", db.session.get(User, world.officer.id))
    assert catalog_service.current_version() == before  # not before the commit
    db.session.rollback()
    quiet_commit()  # a later commit does not take up the undone transition's mark
    assert catalog_service.current_version() == before
    award = db.session.get(Award, world.texas.id)
    fire(award, "activate", db.session.get(User, world.officer.id))
    with db.session.begin_nested():  # a savepoint released on the way is not the commit
        pass
    assert catalog_service.current_version() == before
    quiet_commit()
    after = catalog_service.current_version()
    assert after != before
    payload = json.loads(text_of(app.test_client().get("/catalog/awards.json?state=TX")))
    assert [r["status"] for r in payload["awards"]] == ["Active"]


def test_the_page_under_another_path_prefix_has_its_own_links(app: Flask, world: World) -> None:
    client = app.test_client()
    plain = text_of(client.get("/catalog?state=TX"))
    prefixed = text_of(client.get("/catalog?state=TX", environ_overrides={"SCRIPT_NAME": "/l2g"}))
    assert 'href="/catalog/awards.json?state=TX"' in plain
    assert 'href="/l2g/catalog/awards.json?state=TX"' in prefixed


def test_an_officer_suspending_an_award_on_its_page_changes_the_etag(
    app: Flask, world: World, login: SignIn
) -> None:
    award = db.session.get(Award, world.texas.id)
    fire(award, "activate", db.session.get(User, world.officer.id))
    quiet_commit()
    visitor = app.test_client()
    before = etags(visitor, "?state=TX")
    response = login(world.officer).post(
        f"/officer/awards/{award.id}/transition",
        data={"trigger": "suspend", "comment": "Cost share not documented.", "version": ""},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    after = etags(visitor, "?state=TX")
    assert all(after[url] != before[url] for url in CATALOG_URLS)
    payload = json.loads(text_of(visitor.get("/catalog/awards.json?state=TX")))
    assert [r["status"] for r in payload["awards"]] == ["Suspended"]
