"""The application's sections as forms. They check types and formats; the service checks
completeness for submission, so a draft can be saved however incomplete."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from decimal import Decimal
from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.form import FormMeta
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.countries import country_choices
from app.domain import INDICATORS, PARTNER_TYPES, PRIORITY_AREAS
from forms import DateField, FiniteDecimalField, options

EXTRA_ROWS = 3  # blank rows offered under the filled ones: adding a row needs no JavaScript
MONEY = dict(places=2, rounding=None)


class VersionedForm(FlaskForm):
    """Carries the version the page was rendered with, so a stale save is caught."""

    version = HiddenField()
    save = SubmitField("Save draft")


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ProjectForm(VersionedForm):
    title = StringField(
        "Project title",
        validators=[Optional(), Length(max=200, message="Keep the title under 200 characters.")],
    )
    summary = TextAreaField(
        "Summary",
        validators=[Optional(), Length(max=4000, message="Keep the summary under 250 words.")],
        description="At most 250 words: what you will do, with whom, and what will change.",
    )
    priority_areas = MultiCheckboxField(
        "Priority areas (one to three)", choices=options(PRIORITY_AREAS.items())
    )
    partner_countries = SelectMultipleField(
        "Partner countries",
        choices=[],
        description="Hold Ctrl (Windows) or Command (Mac) to choose several.",
    )
    start_date = DateField(
        "Start date", validators=[Optional()], description="For example: 2027-07-01"
    )
    period_months = IntegerField(
        "Period of performance (months)",
        validators=[
            Optional(),
            NumberRange(min=1, max=60, message="Enter a number of months from 1 to 60."),
        ],
    )

    def __init__(self, *args: Any, offered_areas: list[str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.partner_countries.choices = options(country_choices())
        if offered_areas is not None:
            self.priority_areas.choices = options(
                (a, PRIORITY_AREAS[a]) for a in offered_areas if a in PRIORITY_AREAS
            )

    def validate_priority_areas(self, field: MultiCheckboxField) -> None:
        if len(field.data or []) > 3:
            raise ValidationError("Choose at most three priority areas.")


class NarrativeForm(VersionedForm):
    need = TextAreaField(
        "Need",
        validators=[Optional(), Length(max=20000)],
        description="The need in your jurisdiction this project addresses.",
    )
    approach = TextAreaField(
        "Approach",
        validators=[Optional(), Length(max=20000)],
        description="What you will do, who will do it, and how you will measure it.",
    )
    alignment = TextAreaField(
        "Alignment with U.S. foreign-policy objectives", validators=[Optional(), Length(max=20000)]
    )
    sustainability = TextAreaField(
        "Sustainability beyond political transitions",
        validators=[Optional(), Length(max=20000)],
        description="How the work and its partnerships will continue after leadership changes.",
    )


class _AbstractFormMeta(FormMeta, ABCMeta):
    """WTForms' form metaclass with abstract methods: a row form without them cannot be built."""


class RowForm(Form, metaclass=_AbstractFormMeta):
    """A repeatable row whose fields depend on each other (fill all of them, or none).

    Those checks run after the fields' own validation, not as `validate_<field>` methods: a
    field's Optional() stops its validation chain, inline validators included, so those never ran
    on the empty field they were meant to catch (a half-filled partner row reached the database).
    """

    @abstractmethod
    def is_blank(self) -> bool:
        """Nothing typed in the row (it is then left out)."""

    @abstractmethod
    def row_problems(self) -> list[tuple[Any, str]]:
        """(field, message) for each field a filled row still needs."""

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if self.remove.data or self.is_blank():
            return valid
        for field, message in self.row_problems():
            if not field.errors:
                field.errors.append(message)
                valid = False
        return valid


class PartnerRow(RowForm):
    name = StringField("Partner name", validators=[Optional(), Length(max=200)])
    kind = SelectField(
        "Type",
        choices=options([("", "- Select -"), *PARTNER_TYPES.items()]),
        validators=[Optional()],
    )
    role = StringField("Role in the project", validators=[Optional(), Length(max=2000)])
    remove = BooleanField("Remove this partner")

    def is_blank(self) -> bool:
        return (
            not (self.name.data or "").strip()
            and not self.kind.data
            and not (self.role.data or "").strip()
        )

    def row_problems(self) -> list[tuple[Any, str]]:
        return [
            (field, message)
            for field, message in (
                (self.name, "Enter the partner's name, or clear the row."),
                (self.kind, "Choose the partner's type."),
                (self.role, "Describe the partner's role."),
            )
            if not (field.data or "").strip()
        ]


class PartnersForm(VersionedForm):
    partners = FieldList(FormField(PartnerRow), min_entries=1)


def _money_field(label: str) -> DecimalField:
    return FiniteDecimalField(
        label,
        validators=[
            Optional(),
            NumberRange(
                min=Decimal(0),
                max=Decimal("100000000"),
                message="Enter an amount from 0 to 100,000,000.",
            ),
        ],
        **MONEY,
    )


class BudgetRow(Form):
    category = HiddenField()
    description = StringField("Description", validators=[Optional(), Length(max=300)])
    federal_amount = _money_field("Federal request (USD)")
    cost_share = _money_field("Cost share (USD)")


class BudgetForm(VersionedForm):
    lines = FieldList(FormField(BudgetRow))


class MilestoneRow(RowForm):
    due_on = DateField("Date", validators=[Optional()])
    description = StringField("Milestone", validators=[Optional(), Length(max=2000)])
    remove = BooleanField("Remove this milestone")

    def is_blank(self) -> bool:
        typed = (self.due_on.raw_data or [""])[0].strip()
        return not typed and not (self.description.data or "").strip()

    def row_problems(self) -> list[tuple[Any, str]]:
        problems: list[tuple[Any, str]] = []
        if self.due_on.data is None:
            problems.append((self.due_on, "Enter the milestone's date, like 2027-09-30."))
        if not (self.description.data or "").strip():
            problems.append((self.description, "Describe the milestone, or clear its date."))
        return problems


class MilestonesForm(VersionedForm):
    milestones = FieldList(FormField(MilestoneRow), min_entries=1)


# A target is stored as NUMERIC(16, 2): anything larger overflowed in the database (a 500).
TARGET_CHECKS = [
    Optional(),
    NumberRange(min=0, message="Enter zero or more."),
    NumberRange(max=Decimal("1000000000000"), message="Enter at most 1,000,000,000,000."),
]


class TargetRow(RowForm):
    indicator = SelectField(
        "Indicator",
        choices=options([("", "- Select -"), *INDICATORS.items()]),
        validators=[Optional()],
    )
    baseline = FiniteDecimalField("Baseline", validators=TARGET_CHECKS, places=2)
    target = FiniteDecimalField("Target", validators=TARGET_CHECKS, places=2)
    remove = BooleanField("Remove this target")

    def is_blank(self) -> bool:
        return not self.indicator.data and self.baseline.data is None and self.target.data is None

    def row_problems(self) -> list[tuple[Any, str]]:
        problems: list[tuple[Any, str]] = []
        if not self.indicator.data:
            problems.append((self.indicator, "Choose an indicator."))
        if self.baseline.data is None:
            problems.append((self.baseline, "Enter the baseline (0 if none)."))
        if self.target.data is None:
            problems.append((self.target, "Enter the target."))
        return problems


class TargetsForm(VersionedForm):
    targets = FieldList(FormField(TargetRow), min_entries=1)

    def validate_targets(self, field: FieldList) -> None:
        chosen = [row.indicator.data for row in field if row.indicator.data and not row.remove.data]
        if len(chosen) != len(set(chosen)):
            raise ValidationError("Each indicator can have one target only.")


class LetterUploadForm(FlaskForm):
    version = HiddenField()
    letter = FileField(
        "Letter of support (PDF, at most 10 MB)",
        validators=[FileRequired("Choose a PDF file to upload.")],
    )
    upload = SubmitField("Upload letter")


class ActionForm(FlaskForm):
    """A transition button: its trigger, the version seen, and an optional comment."""

    trigger = HiddenField(validators=[InputRequired()])
    version = HiddenField()
    ranking_version = HiddenField()  # a decision: the ranking the page showed
    comment = TextAreaField("Comment", validators=[Optional(), Length(max=5000)])
