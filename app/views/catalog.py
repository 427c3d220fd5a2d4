"""The public catalog of funded projects: no sign-in, and only what may be published.

Every page and file here is built from `program_data.public_record`, the one whitelist of public
fields: no review, score, comment, contact, address, justification, unaccepted report or
application that was not awarded can reach them.

Each answer is built once per catalog version and kept (`app.services.catalog`): a request reads
the version (one query), answers a matching If-None-Match with a 304, and otherwise sends what
was built for that version, filters and page.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    make_response,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from markupsafe import Markup

from app import charts
from app.clock import utcnow
from app.domain import GOVERNMENT_TYPES, INDICATORS, PRIORITY_AREAS, US_STATES
from app.services import catalog
from app.services import program_data as data
from app.services import program_exports as exports

bp = Blueprint("catalog", __name__, url_prefix="/catalog")
bp.record_once(charts.install)
PAGE_SIZE = 20
CHUNK = 32 * 1024


def _open_data_headers(response: Response, tag: str) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"  # open data: any site may read it
    response.headers["Cache-Control"] = "public, max-age=300"
    response.set_etag(tag)
    return response


def _not_modified(tag: str) -> Response:
    response = Response(status=304)
    response.set_etag(tag)
    return response


@bp.get("")
def index() -> Response:
    filters = data.parse_filters(request.args)
    asked_page = request.args.get("page", 1, type=int)
    version = catalog.current_version()
    # The page's header and messages belong to the person: only an anonymous visitor with no
    # message waiting gets the same bytes as everyone else, and so an ETag.
    shared = not current_user.is_authenticated and not session.get("_flashes")
    # The page's links start with the app's path prefix: a part of what was asked.
    asked = (request.script_root, filters.query_args())
    tag = catalog.etag(version, "page", *asked, asked_page)
    if shared and request.if_none_match.contains(tag):
        return _not_modified(tag)
    summary = catalog.cached(version, ("summary", *asked), lambda: _summary(filters))
    page = min(max(1, asked_page), summary["pages"])
    projects = catalog.cached(
        version, ("projects", *asked, page), lambda: _projects(filters, page, summary)
    )
    response = make_response(render_template("catalog/index.html", projects=projects))
    if shared:
        response.set_etag(tag)
        response.headers["Cache-Control"] = "public, no-cache"  # ask again, answered by a 304
        response.vary.add("Cookie")
    return response


def _projects(filters: data.Filters, page: int, summary: dict[str, Any]) -> Markup:
    """The page's own part for these filters and this page, rendered (the same for everyone)."""
    facts = data.award_facts(filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return Markup(
        render_template(
            "catalog/_projects.html",
            filters=filters,
            records=[exports.public_record(f) for f in facts],
            page=page,
            areas=PRIORITY_AREAS,
            states=US_STATES,
            government_types=GOVERNMENT_TYPES,
            indicators=INDICATORS,
            **summary,
        )
    )


def _summary(filters: data.Filters) -> dict[str, Any]:
    """What the page shows for these filters on every one of its pages."""
    # The map shows every state for the other filters, so it stays a way to move between states.
    by_state = data.state_totals(replace(filters, state_code=None))
    total, amount = _totals(by_state, filters.state_code)
    return {
        "total": total,
        "amount": amount,
        "pages": max(1, -(-total // PAGE_SIZE)),
        "outcomes": data.outcome_totals(filters) if total else {},
        "rounds": [tuple(row) for row in data.public_rounds()],
        **_map(filters, by_state),
    }


def _totals(by_state: dict[str, Any], state_code: str | None) -> tuple[int, Any]:
    """Awards and dollars for the chosen state, or for all of them."""
    if state_code:
        chosen = by_state.get(state_code)
        return (chosen.awards, chosen.amount) if chosen else (0, 0)
    return sum(t.awards for t in by_state.values()), sum(t.amount for t in by_state.values())


def _map(filters: Any, by_state: dict[str, Any]) -> dict[str, Any]:
    """The tile map of the states, its table, and each state's link (the other filters kept)."""
    query = filters.query_args()
    return {
        "query": query,
        "map": charts.tile_map(by_state, filters.state_code),
        "map_rows": sorted(
            ((code, US_STATES.get(code, code), t) for code, t in by_state.items()),
            key=lambda row: row[1],
        ),
        "hrefs": {
            code: url_for("catalog.index", **{**query, "state": code}) + "#projects"
            for code in by_state
        },
    }


@bp.get("/awards.json")
def awards_json() -> Response:
    filters = data.parse_filters(request.args)
    version = catalog.current_version()
    tag = catalog.etag(version, "json", filters.query_args())
    if request.if_none_match.contains(tag):
        return _open_data_headers(_not_modified(tag), tag)
    body = catalog.cached(version, ("json", filters.query_args()), lambda: _awards_json(filters))
    return _open_data_headers(Response(body, mimetype="application/json"), tag)


def _awards_json(filters: data.Filters) -> bytes:
    """The document jsonify would send (the app's JSON settings, a final newline)."""
    records = [exports.public_record(f) for f in data.award_facts(filters)]
    document = current_app.json.dumps(
        {
            "title": "Local-to-Global Engagement Fund: funded projects",
            "description": (
                "Every award accepted by its grantee, with the outcomes of the impact reports the "
                "program office accepted. Amounts in U.S. dollars."
            ),
            "generated_at": utcnow().isoformat(),
            "filters": filters.query_args(),
            "count": len(records),
            "indicators": INDICATORS,
            "awards": records,
        }
    )
    return (document + "\n").encode()


@bp.get("/awards.csv")
def awards_csv() -> Response:
    filters = data.parse_filters(request.args)
    tag = catalog.etag(catalog.current_version(), "csv", filters.query_args())
    if request.if_none_match.contains(tag):
        return _open_data_headers(_not_modified(tag), tag)
    facts = data.award_facts(filters)  # read before streaming

    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(exports.PUBLIC_CSV_COLUMNS)
        for fact in facts:
            writer.writerow(exports.public_csv_row(exports.public_record(fact)))
            if buffer.tell() >= CHUNK:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate(0)
        yield buffer.getvalue()

    response = Response(
        generate(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="l2g-funded-projects.csv"'},
    )
    return _open_data_headers(response, tag)
