"""The reviewer's forms: the declaration before opening an application, the review built from the
round's rubric, and the reviewer's profile. They check types and ranges; the review lifecycle checks
completeness on submission, so a draft can be saved however incomplete."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from app.criteria import Scored, kind_of, radios, text
from app.domain import PRIORITY_AREAS, REGIONS, US_STATES
from app.models.review import CONFLICT_KINDS, Review
from app.models.round import RubricCriterion
from app.services.reviews import CONFIDENCE
from forms import options
from forms.application import MultiCheckboxField

SCORE_MESSAGE = Scored.MESSAGE
CONFIDENCE_MESSAGE = "Choose your confidence: 1 (low), 2 (medium) or 3 (high)."

SCORE_CHOICES = Scored.CHOICES
CONFIDENCE_CHOICES = [(str(n), f"{n} · {title}") for n, title in CONFIDENCE.items()]


class DeclarationForm(FlaskForm):
    """Conflicts of interest and confidentiality, declared before the application opens."""

    version = HiddenField()
    conflict = RadioField(
        "Conflict of interest",
        choices=options(
            [
                ("none", "I have no conflict of interest with this applicant"),
                ("conflict", "I have a conflict of interest with this applicant"),
            ]
        ),
        validators=[InputRequired("Say whether you have a conflict of interest.")],
        invalid_choice_message="Say whether you have a conflict of interest.",
    )
    # No Optional() here: it would stop the checks below, which apply only with a conflict.
    conflict_kind = SelectField(
        "Type of conflict",
        choices=options([("", "- Select -"), *CONFLICT_KINDS.items()]),
        validate_choice=False,  # validate_conflict_kind says what is wrong
        description="Only if you have a conflict.",
    )
    explanation = TextAreaField(
        "Explain the conflict",
        validators=[Length(max=5000)],
        description="Only if you have a conflict. Program officers read this to reassign the "
        "application.",
    )
    confidentiality = BooleanField(
        "I will keep this application and its reviews confidential",
        validators=[InputRequired("Accept the confidentiality agreement to continue.")],
    )
    declare = SubmitField("Record my declaration")

    @property
    def declares_conflict(self) -> bool:
        return self.conflict.data == "conflict"

    def validate_conflict_kind(self, field: SelectField) -> None:
        if self.declares_conflict and field.data not in CONFLICT_KINDS:
            raise ValidationError("Choose the type of conflict.")

    def validate_explanation(self, field: TextAreaField) -> None:
        if self.declares_conflict and not (field.data or "").strip():
            raise ValidationError("Explain the conflict, so that officers can reassign the work.")


class RecusalForm(FlaskForm):
    """A conflict found after the review started: the reviewer recuses."""

    version = HiddenField()
    conflict_kind = SelectField(
        "Type of conflict",
        choices=options([("", "- Select -"), *CONFLICT_KINDS.items()]),
        validate_choice=False,  # validate_conflict_kind says what is wrong
    )
    explanation = TextAreaField(
        "Explain the conflict",
        validators=[
            InputRequired("Explain the conflict, so that officers can reassign the work."),
            Length(max=5000),
        ],
    )
    recuse = SubmitField("Declare the conflict and recuse")

    def validate_conflict_kind(self, field: SelectField) -> None:
        if field.data not in CONFLICT_KINDS:
            raise ValidationError("Choose the type of conflict.")


class ReviewForm(FlaskForm):
    """The fields every review has; `review_form_class` adds each rubric criterion's fields, as
    its kind (app.criteria) gives them."""

    version = HiddenField()
    overall_score = radios(
        "Overall impact",
        SCORE_CHOICES,
        SCORE_MESSAGE,
        description="Your judgement of the project's likely impact as a whole, not an average "
        "of the criteria. 1 is exceptional, 9 is poor.",
    )
    confidence = radios(
        "Your confidence in this review",
        CONFIDENCE_CHOICES,
        CONFIDENCE_MESSAGE,
        description="How well the application falls within your expertise.",
    )
    strengths = text("Strengths")
    weaknesses = text("Weaknesses")
    staff_comments = text(
        "Comments for program staff only",
        description="Never shown to the applicant or to the other reviewers.",
    )
    save = SubmitField("Save draft")
    submit_review = SubmitField("Submit review")

    criteria: list[RubricCriterion] = []

    @property
    def submitting(self) -> bool:
        return bool(self.submit_review.data)

    def criterion_parts(self, criterion: RubricCriterion) -> dict[str, Any]:
        """The criterion's bound fields, by its kind's parts."""
        kind = kind_of(criterion)
        return {part: self[kind.field_name(criterion, part)] for part in kind.parts}

    def criterion_fields(self, criterion: RubricCriterion) -> list[Any]:
        return list(self.criterion_parts(criterion).values())

    def ordered_fields(self) -> list[Any]:
        """The fields in the order the page shows them (for the error summary)."""
        fields = [f for c in self.criteria for f in self.criterion_fields(c)]
        return [*fields, self.overall_score, self.confidence, *self._texts()]

    def _texts(self) -> list[Any]:
        return [self.strengths, self.weaknesses, self.staff_comments]

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        for c in self.criteria:
            parts = self.criterion_parts(c)
            if any(f.errors for f in parts.values()):
                continue
            data = {part: f.data for part, f in parts.items()}
            for part, message in kind_of(c).form_errors(c, data).items():
                parts[part].errors = [*parts[part].errors, message]
                ok = False
        return ok

    def values(self) -> dict[str, Any]:
        """The input as services.reviews.save_draft takes it."""
        scores: dict[str, Any] = {}
        for c in self.criteria:
            data = {part: f.data for part, f in self.criterion_parts(c).items()}
            entry = kind_of(c).stored(data)
            if entry is not None:
                scores[str(c.id)] = entry
        return {
            "criterion_scores": scores,
            "overall_score": int(self.overall_score.data) if self.overall_score.data else None,
            "confidence": int(self.confidence.data) if self.confidence.data else None,
            "strengths": self.strengths.data or "",
            "weaknesses": self.weaknesses.data or "",
            "staff_comments": self.staff_comments.data or "",
        }


def review_form_class(criteria: list[RubricCriterion]) -> type[ReviewForm]:
    """A form class for one rubric: each criterion's fields as its kind builds them (a scored
    criterion is nine radios with the NIH descriptors, the criterion's guidance as hint)."""
    attrs: dict[str, Any] = {"criteria": list(criteria)}
    for c in criteria:
        kind = kind_of(c)
        label = c.title if c.required else f"{c.title} (optional)"
        for part, field in kind.fields(c, label, c.guidance or None).items():
            attrs[kind.field_name(c, part)] = field
    return type("RubricReviewForm", (ReviewForm,), attrs)


def initial_data(review: Review) -> dict[str, Any]:
    """The saved review as the form's initial values."""
    data: dict[str, Any] = {
        "overall_score": review.overall_score,
        "confidence": review.confidence,
        "strengths": review.strengths,
        "weaknesses": review.weaknesses,
        "staff_comments": review.staff_comments,
    }
    scores = review.criterion_scores or {}
    for c in review.application.round.criteria:
        kind = kind_of(c)
        for part, value in kind.initial(scores.get(str(c.id)) or {}).items():
            data[kind.field_name(c, part)] = value
    return data


def build_review_form(review: Review, formdata: bool) -> ReviewForm:
    """The review's form: from the request when `formdata`, else from the saved review."""
    cls = review_form_class(review.application.round.criteria)
    if formdata:
        return cls()
    form = cls(formdata=None, data=initial_data(review))
    form.version.data = review.version
    return form


class ProfileForm(FlaskForm):
    priority_areas = MultiCheckboxField(
        "Expertise: priority areas", choices=options(PRIORITY_AREAS.items())
    )
    regions = MultiCheckboxField("Expertise: world regions", choices=options(REGIONS.items()))
    home_state = SelectField(
        "Home state or territory",
        choices=options(
            [("", "- None -")]
            + [(k, f"{v} ({k})") for k, v in sorted(US_STATES.items(), key=lambda kv: kv[1])]
        ),
        validators=[Optional()],
        invalid_choice_message="Choose a state or territory from the list, or none.",
        description="Optional. You are never assigned to applications from your home state "
        "government.",
    )
    affiliations = TextAreaField(
        "Affiliations",
        validators=[Optional(), Length(max=5000)],
        description="One per line: employers, boards, universities and organizations you work "
        "with. An application naming one of them as a partner is a conflict.",
    )
    save = SubmitField("Save profile")

    def values(self) -> dict[str, Any]:
        return {
            "priority_areas": self.priority_areas.data or [],
            "regions": self.regions.data or [],
            "home_state": self.home_state.data or None,
            "affiliations": (self.affiliations.data or "").splitlines(),
        }
