"""Forms of the award side: the funding line's decisions, award conditions and award actions.

They parse and check input only; the decision rules (budget, range, justification) are the
decisions service's guards, so a refusal always comes with the service's reasons.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    RadioField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from forms import FiniteDecimalField, exact_decimal, options

DECISION_TRIGGERS = ("award", "waitlist", "decline")
BULK_ACTIONS = {
    "award": "Award at the requested amounts",
    "waitlist": "Waitlist",
    "decline": "Decline",
}
MAX_CONDITIONS = 40


class AmountField(StringField):
    """Dollars as typed ("125,000", "$125000.00"); kept as text so the service can say why a
    number is refused. `decimal` is the parsed amount or None."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        raw = (valuelist[0] if valuelist else "") or ""
        self.data = raw.strip()

    def _text(self) -> str:
        return (self.data or "").replace(",", "").replace("$", "").strip()

    @property
    def decimal(self) -> Decimal | None:
        try:
            return exact_decimal(self._text(), places=2) if self._text() else None
        except ValueError:
            return None

    def pre_validate(self, form: Any) -> None:
        if not self._text():
            return
        try:
            exact_decimal(self._text(), places=2)
        except ValueError as problem:
            if "decimal places" in str(problem):
                message = "Enter the amount in dollars and cents: at most 2 decimal places."
            else:
                message = "Enter the amount in dollars, like 125000 or 125,000.00."
            raise ValidationError(message) from None


class DecisionForm(FlaskForm):
    """One application's decision on the funding line: award, waitlist or decline."""

    trigger = HiddenField(validators=[InputRequired()])
    version = HiddenField()
    ranking_version = HiddenField()  # the ranking the page showed
    amount = AmountField("Amount to award (USD)")
    justification = TextAreaField(
        "Justification",
        validators=[
            Optional(),
            Length(max=5000, message="Keep the justification under 5,000 characters."),
        ],
        description=(
            "Needed for an amount other than the request, to fund below a declined or "
            "waitlisted better-ranked application, or to waitlist or decline above a funded one. "
            "Recorded in the audit trail."
        ),
    )

    def validate_trigger(self, field: HiddenField) -> None:
        if field.data not in DECISION_TRIGGERS:
            raise ValidationError("Choose award, waitlist or decline.")


class BulkDecisionForm(FlaskForm):
    """Several applications, one action and one justification; each is fired on its own."""

    action = RadioField(
        "Action",
        choices=options(BULK_ACTIONS.items()),
        validators=[InputRequired("Choose what to do with the selected applications.")],
    )
    justification = TextAreaField(
        "Justification (one for all the selected applications)",
        validators=[
            Optional(),
            Length(max=5000, message="Keep the justification under 5,000 characters."),
        ],
        description="Recorded in the audit trail of each application decided.",
    )
    ranking_version = HiddenField()  # the ranking the page showed
    submit = SubmitField("Apply to the selected applications")


class FloorForm(FlaskForm):
    """The quality floor of the suggested slate (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    floor = FiniteDecimalField(
        "Quality floor (calibrated score, 1 best to 9 worst)",
        places=2,
        validators=[
            Optional(),
            NumberRange(min=1, max=9, message="Enter a score from 1 to 9."),
        ],
        description="The suggested slate funds no application scored worse (higher) than this.",
    )


class ConditionsForm(FlaskForm):
    """An offered award's conditions, one per line."""

    version = HiddenField()
    conditions = TextAreaField(
        "Conditions of the award (one per line)",
        validators=[Length(max=20000, message="Keep the conditions under 20,000 characters.")],
        description="Blank lines are ignored. Regenerate the letter afterwards to include them.",
    )
    save = SubmitField("Save conditions")

    def lines(self) -> list[str]:
        return [line.strip() for line in (self.conditions.data or "").splitlines() if line.strip()]

    def validate_conditions(self, field: TextAreaField) -> None:
        lines = self.lines()
        if not lines:
            raise ValidationError("Give at least one condition.")
        if len(lines) > MAX_CONDITIONS:
            raise ValidationError(f"Give at most {MAX_CONDITIONS} conditions.")
        if any(len(line) > 1000 for line in lines):
            raise ValidationError("Keep each condition under 1,000 characters.")


class AwardActionForm(FlaskForm):
    """An award lifecycle button: its trigger, the version seen, and a comment."""

    trigger = HiddenField(validators=[InputRequired()])
    version = HiddenField()
    comment = TextAreaField("Comment", validators=[Optional(), Length(max=5000)])


class ButtonForm(FlaskForm):
    """A button that only needs the CSRF token (regenerate a letter, build a package, retry)."""
