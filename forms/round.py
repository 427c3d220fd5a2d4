"""The round form: moments entered in the round's own time zone."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, ValidationError

from app.domain import GOVERNMENT_TYPES, PRIORITY_AREAS
from forms import DateTimeLocalField, FiniteDecimalField, options
from forms.application import MultiCheckboxField

US_ZONES = [
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Puerto_Rico",
    "Pacific/Guam",
    "Pacific/Pago_Pago",
    "UTC",
]


def _money(label: str) -> DecimalField:
    return FiniteDecimalField(
        label,
        places=2,
        validators=[
            InputRequired(f"Enter the {label.lower()} in dollars."),
            NumberRange(min=1, max=10_000_000_000, message="Enter a positive amount in dollars."),
        ],
    )


class RoundForm(FlaskForm):
    version = HiddenField()
    title = StringField("Title", validators=[InputRequired("Enter a title."), Length(max=200)])
    description = TextAreaField("Description", validators=[Length(max=20000)])
    timezone = SelectField(
        "Time zone of the round", choices=options((z, z.replace("_", " ")) for z in US_ZONES)
    )
    opens_at = DateTimeLocalField(
        "Opens",
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[InputRequired("Enter when the round opens, like 2027-01-15 09:00.")],
        description="Date and time in the round's time zone.",
    )
    closes_at = DateTimeLocalField(
        "Closes (deadline)",
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[InputRequired("Enter the deadline, like 2027-03-31 17:00.")],
        description="The deadline is a moment, to the second, in the round's time zone.",
    )
    budget = _money("Total budget")
    min_award = _money("Minimum award")
    max_award = _money("Maximum award")
    eligible_government_types = MultiCheckboxField(
        "Eligible government types",
        choices=options(GOVERNMENT_TYPES.items()),
        validators=[InputRequired("Choose at least one government type.")],
    )
    priority_areas = MultiCheckboxField(
        "Priority areas offered",
        choices=options(PRIORITY_AREAS.items()),
        validators=[InputRequired("Choose at least one priority area.")],
    )
    reviewers_per_application = IntegerField(
        "Reviewers per application",
        validators=[
            InputRequired("Enter a number of reviewers."),
            NumberRange(min=1, max=10, message="Enter 1 to 10."),
        ],
    )
    blind_review = BooleanField("Blind review: hide the applicant's identity from reviewers")
    performance_months = IntegerField(
        "Period of performance (months)",
        validators=[
            InputRequired("Enter the period in months."),
            NumberRange(min=1, max=60, message="Enter 1 to 60 months."),
        ],
    )
    submit = SubmitField("Save round")

    def validate_timezone(self, field: SelectField) -> None:
        if field.data not in available_timezones():
            raise ValidationError("Choose a time zone from the list.")

    def validate_closes_at(self, field: DateTimeLocalField) -> None:
        if self.opens_at.data and field.data and field.data <= self.opens_at.data:
            raise ValidationError("The round must close after it opens.")

    def validate_max_award(self, field: DecimalField) -> None:
        if self.min_award.data and field.data is not None and field.data < self.min_award.data:
            raise ValidationError("The maximum award cannot be below the minimum.")
        if self.budget.data and field.data is not None and field.data > self.budget.data:
            raise ValidationError("The maximum award cannot exceed the budget.")

    def values(self) -> dict[str, Any]:
        """The round's values with moments made aware in the chosen zone."""
        zone = ZoneInfo(self.timezone.data)
        names = [
            "title",
            "description",
            "timezone",
            "budget",
            "min_award",
            "max_award",
            "eligible_government_types",
            "priority_areas",
            "reviewers_per_application",
            "blind_review",
            "performance_months",
        ]
        out = {name: getattr(self, name).data for name in names}
        out["opens_at"] = _aware(self.opens_at.data, zone)
        out["closes_at"] = _aware(self.closes_at.data, zone)
        return out


def _aware(local: datetime, zone: ZoneInfo) -> datetime:
    return local.replace(tzinfo=zone)


def initial_data(rnd: Any) -> dict[str, Any]:
    zone = ZoneInfo(rnd.timezone)
    data = {
        name: getattr(rnd, name)
        for name in (
            "title",
            "description",
            "timezone",
            "budget",
            "min_award",
            "max_award",
            "eligible_government_types",
            "priority_areas",
            "reviewers_per_application",
            "blind_review",
            "performance_months",
        )
    }
    data["opens_at"] = rnd.opens_at.astimezone(zone).replace(tzinfo=None)
    data["closes_at"] = rnd.closes_at.astimezone(zone).replace(tzinfo=None)
    return data
