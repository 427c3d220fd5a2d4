"""The impact report form, in the spirit of the federal SF-PPR, built from the award's
application: one actual value per indicator, and an outcome per priority area."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    HiddenField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from app.domain import INDICATORS, PRIORITY_AREAS
from forms import DateField, FiniteDecimalField

NARRATIVE_LABELS = {
    "accomplishments": "Accomplishments against the milestones",
    "challenges": "Challenges",
    "next_period_plans": "Plans for the next period",
}


def report_form_class(priority_areas: list[str]) -> type[FlaskForm]:
    """A form class with an indicator field per DESIGN.md indicator and an outcome field per
    priority area of the application."""

    class ReportForm(FlaskForm):
        version = HiddenField()
        save = SubmitField("Save draft")
        submit = SubmitField("Submit the report")

    for code, title in INDICATORS.items():
        setattr(
            ReportForm,
            f"ind_{code}",
            FiniteDecimalField(
                title,
                places=2,
                validators=[
                    Optional(),
                    NumberRange(min=0, max=10**13, message="Enter zero or a positive number."),
                ],
            ),
        )
    for key, label in NARRATIVE_LABELS.items():
        setattr(ReportForm, key, TextAreaField(label, validators=[Optional(), Length(max=20000)]))
    for area in priority_areas:
        setattr(
            ReportForm,
            f"area_{area}",
            TextAreaField(
                f"Outcomes: {PRIORITY_AREAS.get(area, area)}",
                validators=[Optional(), Length(max=20000)],
            ),
        )
    return ReportForm


def form_values(form: Any, priority_areas: list[str]) -> dict[str, Any]:
    return {
        "indicators": {code: getattr(form, f"ind_{code}").data for code in INDICATORS},
        **{key: getattr(form, key).data or "" for key in NARRATIVE_LABELS},
        "outcomes_by_area": {a: getattr(form, f"area_{a}").data or "" for a in priority_areas},
    }


def initial_data(report: Any, priority_areas: list[str]) -> dict[str, Any]:
    # Stored as exact decimal strings; a DecimalField formats a Decimal, never a str.
    saved = report.indicators or {}
    data: dict[str, Any] = {
        f"ind_{code}": Decimal(str(saved[code])) if saved.get(code) not in (None, "") else None
        for code in INDICATORS
    }
    for key in NARRATIVE_LABELS:
        data[key] = getattr(report, key)
    for area in priority_areas:
        data[f"area_{area}"] = (report.outcomes_by_area or {}).get(area, "")
    return data


class AttachmentForm(FlaskForm):
    version = HiddenField()
    attachment = FileField(
        "Attachment (PDF, at most 10 MB)",
        validators=[FileRequired("Choose a PDF file to upload.")],
    )
    upload = SubmitField("Upload attachment")


class MoveDueDateForm(FlaskForm):
    due_on = DateField("New due date", validators=[InputRequired("Enter the new due date.")])
    reason = TextAreaField(
        "Reason", validators=[InputRequired("Give the reason for the change."), Length(max=2000)]
    )
    move = SubmitField("Move the due date")


class OneOffReportForm(FlaskForm):
    title = StringField("Title", validators=[InputRequired("Enter a title."), Length(max=200)])
    period_start = DateField("Period start", validators=[InputRequired("Enter the start.")])
    period_end = DateField("Period end", validators=[InputRequired("Enter the end.")])
    due_on = DateField("Due date", validators=[InputRequired("Enter the due date.")])
    reason = TextAreaField(
        "Reason", validators=[InputRequired("Give the reason for the report."), Length(max=2000)]
    )
    add = SubmitField("Add the report")
