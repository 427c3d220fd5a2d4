"""Review progress with its chart, the ranking and its CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from flask import render_template, request, stream_with_context
from werkzeug.wrappers import Response

from app.clock import utcnow
from app.domain import GOVERNMENT_TYPES, PRIORITY_AREAS, US_STATES
from app.rules import ranking, review_progress
from app.views import roles_required
from app.views.officer import common
from app.views.officer.common import bp, round_or_404

# ---------------------------------------------------------------------------------------------
# Progress, scores and the ranking


@bp.get("/rounds/<int:round_id>/progress")
@roles_required("officer")
def progress(round_id: int) -> str:
    rnd = round_or_404(round_id)
    page = max(1, request.args.get("page", 1, type=int))
    now = utcnow()
    report = review_progress.round_progress(rnd, now, page=page, per_page=common.PAGE_SIZE)
    return render_template(
        "officer/progress.html",
        rnd=rnd,
        report=report,
        chart=_bar_chart(report.reviewers),
        page=page,
        pages=max(1, -(-report.application_total // common.PAGE_SIZE)),
        now=now,
    )


@dataclass(frozen=True)
class Bar:
    label: str
    y: int
    submitted_width: float
    outstanding_width: float
    submitted: int
    outstanding: int


CHART_LABEL_WIDTH = 200
CHART_BAR_AREA = 360
CHART_ROW = 28


def _bar_chart(rows: list[review_progress.ReviewerProgress]) -> dict[str, Any]:
    """Geometry of a stacked bar per reviewer (submitted, then outstanding), drawn in SVG."""
    scale = max([r.counts.assigned for r in rows] + [1])
    bars = [
        Bar(
            label=r.name if len(r.name) <= 28 else r.name[:27] + "…",
            y=i * CHART_ROW,
            submitted_width=CHART_BAR_AREA * r.counts.submitted / scale,
            outstanding_width=CHART_BAR_AREA * r.counts.outstanding / scale,
            submitted=r.counts.submitted,
            outstanding=r.counts.outstanding,
        )
        for i, r in enumerate(rows)
    ]
    return {
        "bars": bars,
        "label_width": CHART_LABEL_WIDTH,
        "bar_area": CHART_BAR_AREA,
        "width": CHART_LABEL_WIDTH + CHART_BAR_AREA + 140,
        "height": max(len(bars), 1) * CHART_ROW + 36,
        "row": CHART_ROW,
    }


def _ranking_filters() -> ranking.RankingFilters:
    args = request.args
    area = args.get("area") or None
    gov_type = args.get("government_type") or None
    state_code = (args.get("state") or "").upper() or None
    return ranking.RankingFilters(
        area=area if area in PRIORITY_AREAS else None,
        government_type=gov_type if gov_type in GOVERNMENT_TYPES else None,
        state_code=state_code if state_code in US_STATES else None,
    )


@bp.get("/rounds/<int:round_id>/ranking")
@roles_required("officer")
def ranking_page(round_id: int) -> str:
    rnd = round_or_404(round_id)
    filters = _ranking_filters()
    result = ranking.ranking_page(
        rnd,
        filters,
        after=request.args.get("after", type=int),
        before=request.args.get("before", type=int),
        per_page=common.PAGE_SIZE,
    )
    query = {
        "area": filters.area,
        "government_type": filters.government_type,
        "state": filters.state_code,
    }
    return render_template(
        "officer/ranking.html",
        rnd=rnd,
        result=result,
        filters=filters,
        query={k: v for k, v in query.items() if v},
        areas=PRIORITY_AREAS,
        government_types=GOVERNMENT_TYPES,
        states=US_STATES,
    )


@bp.get("/rounds/<int:round_id>/ranking.csv")
@roles_required("officer")
def ranking_csv(round_id: int) -> Response:
    """Every score of every ranked application, streamed a row at a time."""
    rnd = round_or_404(round_id)
    rows = ranking.csv_rows(rnd, _ranking_filters())

    @stream_with_context
    def generate() -> Any:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        yield "\ufeff"  # a byte-order mark, so spreadsheet programs read UTF-8
        for line in rows:
            writer.writerow(line)
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate(0)

    filename = f"ranking-round-{rnd.id}.csv"
    return Response(
        generate(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
