"""Deciding a round within its budget: awards, waitlists and declines, the justification rules,
the suggested slate, decision emails, and the funding-line page.

The budget test that matters most runs two officers' decisions at the same moment in two
threads, each with its own session: on PostgreSQL (DATABASE_URL) it is the round's row lock that
keeps the sum of awards within the budget."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.jobs import commit, rollback
from app.models.application import Application
from app.models.award import Award
from app.models.outbox import EmailMessage
from app.models.user import User
from app.services.awards import committed_total
from app.services.decisions import (
    budget_remaining,
    classify_reasons,
    decide_many,
    funding_line,
    split_reasons,
    suggest_slate,
)
from tests.decision_helpers import (
    award,
    events_of,
    jobs_settled,  # noqa: F401  (autouse)
    scored_round,
)
from tests.factories import Factory, SignIn
from workflows import TransitionRefused, fire

K = Decimal(1000)


def html_of(response: Any) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def officer(make: Factory) -> User:
    return make.officer()


def refusal(application: Application, trigger: str, actor: Any, **kw: Any) -> list[str]:
    """Fire, expect a refusal, check nothing changed; return each reason on its own."""
    state = application.state
    with pytest.raises(TransitionRefused) as info:
        fire(application, trigger, actor, **kw)
    rollback()
    db.session.expire_all()
    assert application.state == state
    return split_reasons(info.value.reasons)


def committed(rnd: Any) -> Decimal:
    db.session.expire_all()
    return Decimal(committed_total(rnd))


# --- the budget ---------------------------------------------------------------------------------


def test_awards_up_to_the_budget_then_refused_with_what_remains(
    make: Factory, officer: User
) -> None:
    rnd, apps = scored_round(make, officer, [100 * K] * 4, budget=250 * K)
    award(apps[0], officer)
    award(apps[1], officer)
    assert budget_remaining(rnd) == 50 * K
    reasons = refusal(apps[2], "award", officer, comment="Next in rank order.")
    assert reasons == ["over budget: $100,000.00 asked, $50,000.00 remains"]
    assert db.session.get(Application, apps[2].id).state == "scored"
    # The rest of the budget, exactly, at a lower amount (justified).
    award(apps[2], officer, 50 * K, comment="Scaled to the budget left.")
    assert committed(rnd) == rnd.budget
    assert refusal(apps[3], "award", officer, comment="Last one.", data={"amount": 50 * K}) == [
        "over budget: $50,000.00 asked, $0.00 remains"
    ]
    assert db.session.scalar(select(func.count(Award.id))) == 3


def test_every_reason_is_given_at_once(make: Factory, officer: User) -> None:
    _, apps = scored_round(
        make, officer, [100 * K, 100 * K], scores=[1, 2], budget=300 * K, max_award=250 * K
    )
    fire(apps[0], "decline", officer)
    commit()
    reasons = refusal(apps[1], "award", officer, data={"amount": 320 * K})
    assert reasons == [
        "the amount must lie between $50,000.00 and $250,000.00",
        "over budget: $320,000.00 asked, $300,000.00 remains",
        "a justification is needed to award $320,000.00 rather than the $100,000.00 requested",
        "a justification is needed to fund this over 1 better-ranked application(s) declined "
        "or waitlisted",
    ]
    assert classify_reasons(reasons) == {
        "amount": reasons[:2],
        "justification": reasons[2:],
        "other": [],
    }


@pytest.mark.parametrize("amount", [49_999, Decimal("250000.01"), 0, -5])
def test_an_amount_outside_the_range_is_refused(amount: Any, make: Factory, officer: User) -> None:
    _, apps = scored_round(make, officer, [100 * K])
    reasons = refusal(apps[0], "award", officer, comment="Why not.", data={"amount": amount})
    assert reasons == ["the amount must lie between $50,000.00 and $250,000.00"]
    for edge in (50 * K, 250 * K):  # the bounds themselves are allowed
        assert not classify_reasons(_problems(apps[0], officer, edge, "Justified."))["amount"]


def _problems(application: Application, actor: Any, amount: Decimal, comment: str) -> list[str]:
    from app.services.decisions import award_problems
    from workflows import FireContext

    return award_problems(
        application, FireContext(actor=actor, comment=comment, data={"amount": amount})
    )


def test_random_decisions_never_exceed_the_budget(make: Factory, officer: User) -> None:
    """Hypothesis: any sequence of awards (any amount, any order) and rescissions keeps the sum of
    committed awards within the budget; what the guard allows is what fits."""
    rnd, apps = scored_round(
        make, officer, [60 * K, 90 * K, 120 * K, 150 * K, 200 * K], budget=400 * K
    )
    ids = [a.id for a in apps]
    budget = Decimal(rnd.budget)

    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(
        st.lists(
            st.tuples(
                st.sampled_from(["award", "rescind"]),
                st.integers(0, len(ids) - 1),
                st.integers(40_000, 260_000),
            ),
            min_size=1,
            max_size=8,
        )
    )
    def run(steps: list[tuple[str, int, int]]) -> None:
        try:
            for action, index, amount in steps:
                application = db.session.get(Application, ids[index])
                before = Decimal(committed_total(rnd))
                try:
                    with db.session.begin_nested():
                        if action == "award":
                            fire(
                                application,
                                "award",
                                officer,
                                comment="Random order.",
                                data={"amount": Decimal(amount)},
                            )
                        else:
                            target = db.session.scalar(
                                select(Award).where(Award.application_id == application.id)
                            )
                            if target is None:
                                continue
                            fire(target, "rescind", officer, comment="Random rescission.")
                    done = True
                except TransitionRefused:
                    done = False
                after = Decimal(committed_total(rnd))
                assert after <= budget
                if action == "award" and application.state != "awarded":
                    fits = 50_000 <= amount <= 250_000 and before + amount <= budget
                    assert done == fits, (before, amount)
        finally:
            rollback()

    run()


def test_two_concurrent_awards_never_exceed_the_budget(
    app: Flask, make: Factory, officer: User, wait_for_jobs: Callable[..., None]
) -> None:
    """Two officers award at the same moment, each alone fitting the budget, together not: one
    award is made, the other refused, and the sum stays within the budget. Runs on the database
    in use: PostgreSQL in the services pass (row locks), SQLite otherwise (its write lock)."""
    rnd, apps = scored_round(make, officer, [150 * K, 150 * K], budget=200 * K, max_award=200 * K)
    second = make.officer()
    ids = [apps[0].id, apps[1].id]
    actors = [officer.id, second.id]
    rollback()  # the test's own session holds nothing while the threads run
    barrier = threading.Barrier(2)
    outcomes: dict[int, object] = {}

    def decide(application_id: int, actor_id: int) -> None:
        with app.app_context():
            try:
                application = db.session.get(Application, application_id)
                actor = db.session.get(User, actor_id)
                barrier.wait(timeout=20)
                fire(application, "award", actor, comment="Decided at the same moment.")
                commit()
                outcomes[application_id] = "awarded"
            except (TransitionRefused, OperationalError) as exc:
                rollback()
                outcomes[application_id] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=decide, args=pair) for pair in zip(ids, actors, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    wait_for_jobs(timeout=300)
    db.session.expire_all()
    awards = db.session.scalars(select(Award).where(Award.round_id == rnd.id)).all()
    assert len(awards) == 1
    assert sum(a.amount for a in awards) <= rnd.budget
    assert sorted(str(v) == "awarded" for v in outcomes.values()) == [False, True]
    loser = next(v for v in outcomes.values() if v != "awarded")
    if db.engine.dialect.name == "postgresql":
        assert isinstance(loser, TransitionRefused)
    if isinstance(loser, TransitionRefused):
        assert loser.reasons == ["over budget: $150,000.00 asked, $50,000.00 remains"]
    states = {
        a.id: a.state
        for a in db.session.scalars(select(Application).where(Application.id.in_(ids)))
    }
    assert sorted(states.values()) == ["awarded", "scored"]


# --- justifications, recorded in the audit trail -------------------------------------------------


def test_an_amount_other_than_the_request_needs_a_justification(
    make: Factory, officer: User
) -> None:
    _, apps = scored_round(make, officer, [100 * K])
    assert refusal(apps[0], "award", officer, data={"amount": 80 * K}) == [
        "a justification is needed to award $80,000.00 rather than the $100,000.00 requested"
    ]
    made = award(apps[0], officer, 80 * K, comment="Travel budget trimmed.")
    assert made.amount == 80 * K and made.justification == "Travel budget trimmed."
    event = events_of("application", apps[0].id)[-1]
    assert (event.trigger, event.to_state, event.comment) == (
        "award",
        "awarded",
        "Travel budget trimmed.",
    )
    # The request itself needs none.
    _, apps2 = scored_round(make, officer, [100 * K])
    assert award(apps2[0], officer, comment=None).amount == 100 * K


def test_funding_below_a_declined_or_waitlisted_better_one_needs_a_justification(
    make: Factory, officer: User
) -> None:
    _, (best, second, third) = scored_round(make, officer, [100 * K] * 3, scores=[1, 2, 3])
    fire(best, "decline", officer)  # nothing funded below it yet: no justification needed
    fire(second, "waitlist", officer)
    commit()
    assert refusal(third, "award", officer) == [
        "a justification is needed to fund this over 2 better-ranked application(s) declined "
        "or waitlisted"
    ]
    award(third, officer, comment="Strongest climate component.")
    assert events_of("application", third.id)[-1].comment == "Strongest climate component."


@pytest.mark.parametrize("trigger", ["waitlist", "decline"])
def test_waitlisting_or_declining_above_a_funded_one_needs_a_justification(
    trigger: str, make: Factory, officer: User
) -> None:
    _, (best, worse) = scored_round(make, officer, [100 * K] * 2, scores=[1, 5])
    award(worse, officer, comment=None)  # the better one is undecided: no justification needed
    assert refusal(best, trigger, officer) == [
        "a justification is needed: 1 lower-ranked application(s) are funded"
    ]
    fire(best, trigger, officer, comment="Duplicates an existing federal award.")
    commit()
    event = events_of("application", best.id)[-1]
    assert (event.trigger, event.comment) == (trigger, "Duplicates an existing federal award.")


def test_decisions_in_rank_order_need_no_justification(make: Factory, officer: User) -> None:
    _, (a, b, c) = scored_round(make, officer, [100 * K] * 3, scores=[1, 2, 3])
    award(a, officer, comment=None)
    fire(b, "waitlist", officer)
    fire(c, "decline", officer)
    commit()
    assert [x.state for x in (a, b, c)] == ["awarded", "waitlisted", "declined"]
    # A waitlisted application can still be awarded later, or declined.
    assert award(b, officer, comment=None).amount == 100 * K


def test_rescinding_returns_the_money_to_the_budget(make: Factory, officer: User) -> None:
    rnd, apps = scored_round(make, officer, [200 * K, 100 * K], scores=[1, 2], budget=250 * K)
    made = award(apps[0], officer)
    assert budget_remaining(rnd) == 50 * K
    assert refusal(apps[1], "award", officer, comment="Next.")[0].startswith("over budget")
    fire(made, "rescind", officer, comment="The jurisdiction lost its matching funds.")
    commit()
    assert budget_remaining(rnd) == 250 * K
    award(apps[1], officer)
    assert budget_remaining(rnd) == 150 * K


# --- the suggested slate ------------------------------------------------------------------------


def test_slate_skips_what_does_not_fit_and_tries_the_next() -> None:
    ranked = [
        (1, 100 * K, 2.0),
        (2, 150 * K, 2.5),  # does not fit the 100k left
        (3, 60 * K, 3.0),  # fits
        (4, 50 * K, 3.5),  # 40k left: does not fit
        (5, 40 * K, 4.0),  # exactly fits
        (6, 50 * K, None),  # not scored
    ]
    slate = suggest_slate(ranked, 200 * K, None)
    assert [(s.application_id, s.funded) for s in slate] == [
        (1, True),
        (2, False),
        (3, True),
        (4, False),
        (5, True),
        (6, False),
    ]
    assert [s.reason for s in slate if not s.funded] == [
        "does not fit the budget left",
        "does not fit the budget left",
        "no score",
    ]
    assert sum(s.requested for s in slate if s.funded) == 200 * K


def test_slate_funds_nothing_worse_than_the_quality_floor() -> None:
    ranked = [(1, 50 * K, 1.5), (2, 50 * K, 2.75), (3, 50 * K, 2.8), (4, 50 * K, 6.0)]
    slate = suggest_slate(ranked, 1000 * K, 2.75)
    assert [s.funded for s in slate] == [True, True, False, False]
    assert {s.reason for s in slate if not s.funded} == {"below the quality floor"}
    assert [s.funded for s in suggest_slate(ranked, 75 * K, None)] == [True, False, False, False]
    assert suggest_slate([], 100 * K, 3.0) == []


def test_funding_line_suggests_from_what_remains(make: Factory, officer: User) -> None:
    rnd, (a, b, c, d) = scored_round(
        make, officer, [100 * K, 150 * K, 60 * K, 50 * K], scores=[1, 2, 3, 7], budget=300 * K
    )
    award(a, officer, comment=None)
    line = funding_line(rnd)
    assert [r.application.id for r in line.rows] == [a.id, b.id, c.id, d.id]
    assert (line.budget, line.committed, line.remaining) == (300 * K, 100 * K, 200 * K)
    assert line.suggested_ids == {b.id, d.id}  # c (60k) no longer fits after b
    assert line.rows[0].slate is None and line.rows[0].award is not None
    floored = funding_line(rnd, Decimal("2.5"))
    assert floored.suggested_ids == {b.id}
    assert line.undecided == 3


# --- decision emails ------------------------------------------------------------------------------


def test_decision_emails_go_to_every_applicant_user_for_each_outcome(
    make: Factory, officer: User, wait_for_jobs: Callable[..., None]
) -> None:
    orgs = [make.organization() for _ in range(3)]
    first = [make.applicant(org) for org in orgs]
    others = [make.applicant(org) for org in orgs]
    _, apps = scored_round(make, officer, [100 * K] * 3, scores=[1, 2, 3], users=first)
    award(apps[0], officer, comment=None)
    fire(apps[1], "waitlist", officer)
    fire(apps[2], "decline", officer, comment="Outside the priority areas.")
    commit()
    wait_for_jobs(timeout=300)
    for application, outcome, users in zip(
        apps, ["Awarded", "Waitlisted", "Declined"], zip(first, others, strict=True), strict=True
    ):
        subject = f"Decision on {application.reference}: {outcome}"
        sent = db.session.scalars(select(EmailMessage).where(EmailMessage.subject == subject)).all()
        assert sorted(m.to_address for m in sent) == sorted(u.email for u in users)
    declined = db.session.scalar(
        select(EmailMessage)
        .where(EmailMessage.to_address == first[2].email)
        .where(EmailMessage.subject.like("Decision on%"))
    )
    assert "Outside the priority areas." in declined.body
    awarded = db.session.scalar(
        select(EmailMessage)
        .where(EmailMessage.to_address == first[0].email)
        .where(EmailMessage.subject.like("Decision on%"))
    )
    assert "Award number:" in awarded.body and "$100,000.00" in awarded.body


# --- bulk decisions and the funding-line page ----------------------------------------------------


def test_bulk_award_goes_in_rank_order_and_reports_refusals(make: Factory, officer: User) -> None:
    rnd, (a, b, c) = scored_round(
        make, officer, [150 * K, 100 * K, 100 * K], scores=[1, 2, 3], budget=250 * K
    )
    outcomes = decide_many([c, b, a], "award", officer, "Bulk, at the requested amounts.")
    commit()
    assert [(o.application.id, o.done) for o in outcomes] == [
        (a.id, True),
        (b.id, True),
        (c.id, False),
    ]
    assert outcomes[2].reasons == ("over budget: $100,000.00 asked, $0.00 remains",)
    assert committed(rnd) == 250 * K
    assert db.session.get(Application, c.id).state == "scored"


def test_funding_line_page_shows_ranking_budget_and_slate(
    app: Flask, make: Factory, officer: User, count_queries: Any, login: SignIn
) -> None:
    rnd, apps = scored_round(make, officer, [100 * K] * 3, scores=[1, 2, 3], budget=250 * K)
    award(apps[0], officer, comment=None)
    client = login(officer)
    url = f"/officer/rounds/{rnd.id}/decisions"
    db.session.expire_all()  # the client shares the test's session: start both pages cold
    with count_queries() as few:
        page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for text in ("$250,000.00", "$100,000.00", "$150,000.00", apps[1].reference, "Suggested slate"):
        assert text in html
    assert html.count('name="trigger" value="award"') == 2  # the undecided ones
    assert 'form="bulk-form"' in html
    # More applications do not mean more queries.
    rnd2, _ = scored_round(make, officer, [100 * K] * 6, budget=900 * K)
    db.session.expire_all()
    with count_queries() as many:
        assert client.get(f"/officer/rounds/{rnd2.id}/decisions").status_code == 200
    assert many.count == few.count
    floored = client.get(url + "?floor=1.5").get_data(as_text=True)
    assert "none scored worse than 1.5" in floored


def test_refused_decision_shows_every_reason_next_to_its_field(
    app: Flask, make: Factory, officer: User, login: SignIn
) -> None:
    rnd, apps = scored_round(make, officer, [100 * K], budget=150 * K, max_award=150 * K)
    client = login(officer)
    response = client.post(
        f"/officer/rounds/{rnd.id}/decisions/{apps[0].id}",
        data={
            "trigger": "award",
            "amount": "160,000",
            "justification": "",
            "version": apps[0].version,
        },
    )
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    amount_errors = re.findall(rf'id="amount-{apps[0].id}-error[^"]*" role="alert">([^<]+)<', html)
    justification_errors = re.findall(
        rf'id="justification-{apps[0].id}-error[^"]*" role="alert">([^<]+)<', html
    )
    assert amount_errors == [
        "the amount must lie between $50,000.00 and $150,000.00",
        "over budget: $160,000.00 asked, $150,000.00 remains",
    ]
    assert justification_errors == [
        "a justification is needed to award $160,000.00 rather than the $100,000.00 requested"
    ]
    assert 'value="160,000"' in html  # the input is kept
    # Not a number: the form says so before the service is asked.
    response = client.post(
        f"/officer/rounds/{rnd.id}/decisions/{apps[0].id}",
        data={"trigger": "award", "amount": "lots", "version": apps[0].version},
    )
    assert response.status_code == 400
    assert "Enter the amount in dollars" in response.get_data(as_text=True)
    # Awards are stored in cents: a fraction of a cent is refused, not rounded.
    for amount, message in (("120000.999", "at most 2 decimal places"), ("sNaN", "in dollars")):
        response = client.post(
            f"/officer/rounds/{rnd.id}/decisions/{apps[0].id}",
            data={
                "trigger": "award",
                "amount": amount,
                "justification": "Scaled.",
                "version": apps[0].version,
            },
        )
        assert response.status_code == 400, amount
        errors = re.findall(
            rf'id="amount-{apps[0].id}-error[^"]*" role="alert">([^<]+)<', html_of(response)
        )
        assert any(message in error for error in errors), (amount, errors)
        db.session.expire_all()
        assert db.session.get(Application, apps[0].id).state != "awarded"
    # The quality floor's a GET form: a signalling NaN is refused, not a 500.
    floored = client.get(f"/officer/rounds/{rnd.id}/decisions?floor=sNaN")
    assert floored.status_code == 200
    ok = client.post(
        f"/officer/rounds/{rnd.id}/decisions/{apps[0].id}",
        data={
            "trigger": "award",
            "amount": "120000",
            "justification": "Scaled.",
            "version": apps[0].version,
        },
    )
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(Application, apps[0].id).state == "awarded"


def test_bulk_page_reports_done_and_refused_then_finalize(
    app: Flask, make: Factory, officer: User, login: SignIn
) -> None:
    rnd, (a, b, c) = scored_round(
        make, officer, [100 * K] * 3, scores=[1, 2, 3], budget=200 * K, max_award=200 * K
    )
    client = login(officer)
    finalize = client.post(f"/officer/rounds/{rnd.id}/finalize", follow_redirects=True)
    assert "3 scored application(s) still need a decision" in finalize.get_data(as_text=True)
    response = client.post(
        f"/officer/rounds/{rnd.id}/decisions/bulk",
        data={"action": "award", "justification": "", "application_ids": [a.id, b.id, c.id]},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "2 applications done; 1 refused" in html
    assert "Over budget: $100,000.00 asked, $0.00 remains" in html
    empty = client.post(f"/officer/rounds/{rnd.id}/decisions/bulk", data={"action": "decline"})
    assert empty.status_code == 400 and "Select at least one application." in empty.get_data(
        as_text=True
    )
    client.post(
        f"/officer/rounds/{rnd.id}/decisions/bulk",
        data={"action": "decline", "justification": "Out of money.", "application_ids": [c.id]},
    )
    done = client.post(f"/officer/rounds/{rnd.id}/finalize", follow_redirects=True)
    assert "The round&#39;s decisions are final." in done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(type(rnd), rnd.id).state == "decided"


@pytest.mark.parametrize("role", ["applicant", "reviewer", "admin"])
def test_only_officers_decide(
    role: str, app: Flask, make: Factory, officer: User, login: SignIn
) -> None:
    rnd, apps = scored_round(make, officer, [100 * K])
    user = make.applicant() if role == "applicant" else make.user(role)
    client = login(user)
    assert client.get(f"/officer/rounds/{rnd.id}/decisions").status_code == 403
    response = client.post(
        f"/officer/rounds/{rnd.id}/decisions/{apps[0].id}", data={"trigger": "award"}
    )
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Application, apps[0].id).state == "scored"
