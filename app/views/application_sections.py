"""The application's sections as forms: how each section's form is filled from the saved
application and how what was typed is handed to its service."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.domain import BUDGET_CATEGORIES
from app.models.application import Application
from app.services import applications as svc
from forms.application import (
    EXTRA_ROWS,
    BudgetForm,
    MilestonesForm,
    NarrativeForm,
    PartnersForm,
    ProjectForm,
    TargetsForm,
)


@dataclass(frozen=True)
class SectionHandler:
    form: type
    load: Callable[[Application], dict[str, Any]]
    save: Callable[[Application, Any, int], None]


def _rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return items + [{} for _ in range(EXTRA_ROWS)]


def _kept(rows: Any) -> list[Any]:
    return [r for r in rows if not r.remove.data and not _blank(r)]


def _blank(row: Any) -> bool:
    if hasattr(row, "is_blank"):
        return row.is_blank()
    return not row.due_on.data and not (row.description.data or "").strip()


HANDLERS: dict[str, SectionHandler] = {
    "project": SectionHandler(
        ProjectForm,
        lambda a: {
            "title": a.title,
            "summary": a.summary,
            "priority_areas": a.priority_areas,
            "partner_countries": a.partner_countries,
            "start_date": a.start_date,
            "period_months": a.period_months,
        },
        lambda a, f, v: svc.save_project(
            a,
            {
                "title": f.title.data or "",
                "summary": f.summary.data or "",
                "priority_areas": f.priority_areas.data or [],
                "partner_countries": f.partner_countries.data or [],
                "start_date": f.start_date.data,
                "period_months": f.period_months.data,
            },
            v,
        ),
    ),
    "narrative": SectionHandler(
        NarrativeForm,
        lambda a: {k: getattr(a, k) for k in ("need", "approach", "alignment", "sustainability")},
        lambda a, f, v: svc.save_narrative(
            a,
            {
                k: getattr(f, k).data or ""
                for k in ("need", "approach", "alignment", "sustainability")
            },
            v,
        ),
    ),
    "partners": SectionHandler(
        PartnersForm,
        lambda a: {
            "partners": _rows(
                [{"name": p.name, "kind": p.kind, "role": p.role} for p in a.partners]
            )
        },
        lambda a, f, v: svc.replace_partners(
            a,
            [
                {"name": r.name.data, "kind": r.kind.data, "role": r.role.data}
                for r in _kept([x.form for x in f.partners])
            ],
            v,
        ),
    ),
    "budget": SectionHandler(
        BudgetForm,
        lambda a: {
            "lines": [
                {
                    "category": line.category,
                    "description": line.description,
                    "federal_amount": line.federal_amount,
                    "cost_share": line.cost_share,
                }
                for line in a.budget_lines
            ]
        },
        lambda a, f, v: svc.save_budget(
            a,
            {
                r.form.category.data: {
                    "description": r.form.description.data,
                    "federal_amount": r.form.federal_amount.data,
                    "cost_share": r.form.cost_share.data,
                }
                for r in f.lines
                if r.form.category.data in BUDGET_CATEGORIES
            },
            v,
        ),
    ),
    "milestones": SectionHandler(
        MilestonesForm,
        lambda a: {
            "milestones": _rows(
                [{"due_on": m.due_on, "description": m.description} for m in a.milestones]
            )
        },
        lambda a, f, v: svc.replace_milestones(
            a,
            [
                {"due_on": r.due_on.data, "description": r.description.data}
                for r in _kept([x.form for x in f.milestones])
            ],
            v,
        ),
    ),
    "targets": SectionHandler(
        TargetsForm,
        lambda a: {
            "targets": _rows(
                [
                    {"indicator": t.indicator, "baseline": t.baseline, "target": t.target}
                    for t in a.impact_targets
                ]
            )
        },
        lambda a, f, v: svc.replace_targets(
            a,
            [
                {
                    "indicator": r.indicator.data,
                    "baseline": r.baseline.data or Decimal(0),
                    "target": r.target.data or Decimal(0),
                }
                for r in _kept([x.form for x in f.targets])
            ],
            v,
        ),
    ),
}


def build_form(key: str, application: Application, formdata: bool) -> Any:
    handler = HANDLERS[key]
    kwargs: dict[str, Any] = {}
    if key == "project":
        kwargs["offered_areas"] = application.round.priority_areas
    if formdata:
        return handler.form(**kwargs)
    form = handler.form(data=handler.load(application), **kwargs)
    form.version.data = application.version
    return form
