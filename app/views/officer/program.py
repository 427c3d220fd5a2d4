"""The program officer's dashboard: what the funded projects have achieved against their targets,
overall and by priority area, state and round, and every report's indicators as CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from flask import Response, render_template, request, stream_with_context

from app import charts
from app.domain import GOVERNMENT_TYPES, INDICATORS, PRIORITY_AREAS, US_STATES
from app.services import dashboard as program_totals
from app.services import program_data as data
from app.services import program_exports as exports
from app.services.rounds import round_titles_newest_first
from app.views import roles_required
from app.views.officer.common import bp

CHUNK = 32 * 1024  # bytes of CSV sent at a time

DEFAULT_INDICATOR = "jobs"
CHUNK = 32 * 1024  # bytes of CSV sent at a time


@bp.get("/dashboard")
@roles_required("officer")
def dashboard() -> str:
    filters = data.parse_filters(request.args)
    indicator = request.args.get("indicator")
    if indicator not in INDICATORS:
        indicator = DEFAULT_INDICATOR
    dash = program_totals.dashboard_totals(filters)
    rounds = round_titles_newest_first()
    round_order = {title: n for n, (_, title) in enumerate(rounds)}
    by_area = [(PRIORITY_AREAS[a], dash.by_area[a]) for a in PRIORITY_AREAS if a in dash.by_area]
    by_state = sorted((US_STATES.get(code, code), totals) for code, totals in dash.by_state.items())
    by_round = sorted(dash.by_round.items(), key=lambda item: round_order.get(item[0], 0))
    return render_template(
        "officer/dashboard.html",
        filters=filters,
        query=filters.query_args(),
        indicator=indicator,
        overall=dash.overall,
        reports_accepted=dash.overall.reports_accepted,
        target_rows=charts.target_rows(dash.overall),
        groups=[
            ("area", "priority area", charts.group_rows(by_area, indicator)),
            ("state", "state", charts.group_rows(by_state, indicator)),
            ("round", "round", charts.group_rows(by_round, indicator)),
        ],
        rounds=rounds,
        areas=PRIORITY_AREAS,
        states=US_STATES,
        government_types=GOVERNMENT_TYPES,
        indicators=INDICATORS,
    )


@bp.get("/dashboard/reports.csv")
@roles_required("officer")
def reports_csv() -> Response:
    """Every report's indicators, one row per report, streamed from one query."""
    rows = exports.report_rows(data.parse_filters(request.args))

    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        yield "\ufeff"  # a byte-order mark, so spreadsheet programs read UTF-8
        for line in rows:
            writer.writerow(line)
            if buffer.tell() >= CHUNK:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate(0)
        yield buffer.getvalue()

    return Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="impact-reports.csv"'},
    )
