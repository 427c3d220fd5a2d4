"""The program officer's review forms: bulk screening, the rubric, conflicts, assignment and the
reviewers of one application. They check types and formats; the services hold the rules."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from app.criteria import KINDS, titles
from app.models.review import CONFLICT_KINDS
from forms import DateTimeLocalField, exact_decimal, options

MOMENT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
MAX_WEIGHT = Decimal("100")


def aware(local: datetime | None, zone: ZoneInfo) -> datetime | None:
    """A wall-clock time typed in the round's zone, made a moment."""
    return local.replace(tzinfo=zone) if local is not None else None


class BulkScreenForm(FlaskForm):
    """Mark several submitted applications eligible or ineligible with one reason."""

    decision = RadioField(
        "Decision",
        choices=options(
            [("mark_eligible", "Mark eligible"), ("mark_ineligible", "Mark ineligible")]
        ),
        validators=[InputRequired("Choose eligible or ineligible.")],
    )
    reason = TextAreaField(
        "Reason (shown to the applicant)",
        validators=[Length(max=5000, message="Keep the reason under 5,000 characters.")],
        description="Required to mark ineligible.",
    )
    submit = SubmitField("Apply to selected applications")

    def validate_reason(self, field: TextAreaField) -> None:
        if self.decision.data == "mark_ineligible" and not (field.data or "").strip():
            raise ValidationError("Give the reason the applications are ineligible.")


class WeightField(StringField):
    """A rubric weight: a number above zero, read exactly as a Decimal."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.raw = (valuelist[0] if valuelist else "") or ""
        self.data = self.raw.strip()

    def _value(self) -> str:
        if isinstance(self.data, Decimal):
            return format(self.data.normalize(), "f")
        return str(self.data or "")

    @property
    def decimal(self) -> Decimal | None:
        try:
            return exact_decimal(str(self.data), places=None)
        except ValueError:
            return None


class CriterionRow(Form):
    id = HiddenField()
    title = StringField(
        "Title", validators=[Length(max=200, message="Keep it under 200 characters.")]
    )
    guidance = TextAreaField("Guidance for reviewers", validators=[Length(max=5000)])
    weight = WeightField("Weight", description="A number above zero, like 1 or 1.5.")
    kind = SelectField(
        "Kind",
        choices=options(titles().items()),
        description="Criteria scored 1–9 make the weighted criterion score; the others are "
        "reported beside the ranking.",
    )
    required = BooleanField("Required: a review cannot be submitted without it")
    remove = BooleanField("Remove this criterion")

    def is_blank(self) -> bool:
        return (
            not self.id.data
            and not (self.title.data or "").strip()
            and not (self.guidance.data or "").strip()
            and not str(self.weight.data or "").strip()
        )

    def counts(self) -> bool:
        return not self.remove.data and not self.is_blank()

    def validate_title(self, field: StringField) -> None:
        if self.counts() and not (field.data or "").strip():
            raise ValidationError("Enter the criterion's title.")

    def validate_weight(self, field: WeightField) -> None:
        if not self.counts():
            return
        if not str(field.data or "").strip():
            raise ValidationError("Enter a weight above zero.")
        value = field.decimal
        if value is None:
            raise ValidationError("Enter the weight as a number, like 1 or 1.5.")
        if value <= 0:
            raise ValidationError("The weight must be greater than zero.")
        if value > MAX_WEIGHT:
            raise ValidationError("Keep the weight at 100 or below.")
        if value != value.quantize(Decimal("0.01")):
            raise ValidationError("Use at most two decimal places.")


def _counts_in_score(kind: str | None) -> bool:
    return kind in KINDS and KINDS[kind].counts_in_score


class RubricForm(FlaskForm):
    version = HiddenField()
    criteria = FieldList(FormField(CriterionRow), min_entries=1)
    add_row = SubmitField("Add a criterion")
    save = SubmitField("Save rubric")

    def validate_criteria(self, field: FieldList) -> None:
        kept = [row.form for row in field if row.form.counts()]
        if not kept:
            raise ValidationError("Keep at least one criterion.")
        if not any(_counts_in_score(row.kind.data) for row in kept):
            raise ValidationError("Keep at least one criterion scored 1–9.")

    def rows(self) -> list[dict[str, Any]]:
        """The kept criteria, in order, as replace_criteria takes them."""
        out = []
        for entry in self.criteria:
            row = entry.form
            if not row.counts():
                continue
            out.append(
                {
                    "id": int(row.id.data) if (row.id.data or "").isdigit() else None,
                    "title": row.title.data,
                    "guidance": row.guidance.data,
                    "weight": row.weight.decimal,
                    "kind": row.kind.data,
                    "required": row.required.data,
                }
            )
        return out


class ConflictForm(FlaskForm):
    reviewer = SelectField("Reviewer", validate_choice=False)
    organization = SelectField("Applicant jurisdiction", validate_choice=False)
    application = StringField(
        "Application reference (optional)",
        validators=[Optional(), Length(max=20)],
        description="Leave empty for a conflict with every application of the jurisdiction.",
    )
    kind = SelectField("Kind of conflict", choices=options(CONFLICT_KINDS.items()))
    note = TextAreaField("Note", validators=[Length(max=2000)])
    submit = SubmitField("Record conflict")

    def __init__(
        self, *args: Any, reviewers: list[Any] = (), organizations: list[Any] = (), **kw: Any
    ):
        super().__init__(*args, **kw)
        self.reviewer.choices = options(
            [("", "- Select a reviewer -")] + [(str(u.id), u.display_name) for u in reviewers]
        )
        self.organization.choices = options(
            [("", "- Select a jurisdiction -")]
            + [(str(o.id), f"{o.legal_name} ({o.state_code})") for o in organizations]
        )

    def validate_reviewer(self, field: SelectField) -> None:
        if not field.data or not _offered(field):
            raise ValidationError("Choose the reviewer.")

    def validate_organization(self, field: SelectField) -> None:
        if not field.data or not _offered(field):
            raise ValidationError("Choose the jurisdiction.")


def _offered(field: SelectField) -> bool:
    return any(choice.selected for choice in field.iter_choices() if choice.value)


class AssignmentForm(FlaskForm):
    min_load = IntegerField(
        "Minimum load per reviewer",
        default=0,
        validators=[
            InputRequired("Enter the minimum load (0 for none)."),
            NumberRange(min=0, max=1000, message="Enter a whole number from 0 to 1,000."),
        ],
    )
    max_load = IntegerField(
        "Maximum load per reviewer",
        validators=[
            Optional(),
            NumberRange(min=1, max=1000, message="Enter a whole number from 1 to 1,000."),
        ],
        description="Leave empty for no maximum.",
    )
    due_at = DateTimeLocalField(
        "Reviews due",
        format=MOMENT_FORMATS,
        validators=[Optional()],
        description="Date and time in the round's time zone; leave empty for no due date.",
    )
    fingerprint = HiddenField()
    propose = SubmitField("Propose assignment")
    confirm = SubmitField("Confirm assignment")

    def validate_max_load(self, field: IntegerField) -> None:
        low = self.min_load.data
        if field.data is not None and low is not None and field.data < low:
            raise ValidationError("The maximum load cannot be below the minimum.")


class DueDateForm(FlaskForm):
    due_at = DateTimeLocalField(
        "New due date for every open review of the round",
        format=MOMENT_FORMATS,
        validators=[InputRequired("Enter the due date, like 2027-05-15 17:00.")],
        description="Date and time in the round's time zone.",
    )
    origin = HiddenField(default="")
    submit = SubmitField("Set due date")


class AddReviewerForm(FlaskForm):
    reviewer = SelectField("Reviewer without a conflict", coerce=str)
    due_at = DateTimeLocalField(
        "Due",
        format=MOMENT_FORMATS,
        validators=[Optional()],
        description="Round's time zone; empty keeps the due date of the other reviews.",
    )
    submit = SubmitField("Add reviewer")

    def __init__(self, *args: Any, candidates: list[Any] = (), **kw: Any):
        super().__init__(*args, **kw)
        self.reviewer.choices = options(
            [("", "- Select a reviewer -")] + [(str(u.id), u.display_name) for u in candidates]
        )

    def validate_reviewer(self, field: SelectField) -> None:
        if not field.data:
            raise ValidationError("Choose a reviewer.")


class SwapReviewerForm(FlaskForm):
    replacement = SelectField("Replace with", coerce=str)
    submit = SubmitField("Swap reviewer")

    def __init__(self, *args: Any, candidates: list[Any] = (), **kw: Any):
        super().__init__(*args, **kw)
        self.replacement.choices = options(
            [("", "- Select a reviewer -")] + [(str(u.id), u.display_name) for u in candidates]
        )

    def validate_replacement(self, field: SelectField) -> None:
        if not field.data:
            raise ValidationError("Choose the replacement reviewer.")


class ReviewActionForm(FlaskForm):
    """Recuse or reopen a review, or take a reviewer off before the work starts."""

    version = HiddenField()
    comment = TextAreaField("Comment", validators=[Optional(), Length(max=5000)])
