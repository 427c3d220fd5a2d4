"""The reviewer's forms: the declaration before opening an application, the review built from the
round's rubric, and the reviewer's profile. They check types and ranges; the review lifecycle checks
completeness on submission, so a draft can be saved however incomplete."""

from __future__ import annotations

from collections.abc import Iterable
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

from app.domain import PRIORITY_AREAS, REGIONS, US_STATES
from app.models.review import CONFLICT_KINDS, Review
from app.models.round import RubricCriterion
from app.services.reviews import CONFIDENCE, NIH_SCALE, criterion_field
from forms import options
from forms.application import MultiCheckboxField

SCORE_MESSAGE = "Choose a score from 1 (exceptional) to 9 (poor)."
CONFIDENCE_MESSAGE = "Choose your confidence: 1 (low), 2 (medium) or 3 (high)."
SUFFICIENCY_MESSAGE = "Choose sufficient or not sufficient."
TEXT_LIMIT = 20000

SCORE_CHOICES = [(str(n), f"{n} · {title}") for n, title in NIH_SCALE.items()]
CONFIDENCE_CHOICES = [(str(n), f"{n} · {title}") for n, title in CONFIDENCE.items()]
SUFFICIENCY_CHOICES = [("yes", "Sufficient"), ("no", "Not sufficient")]


def _radios(label: str, choices: Iterable[tuple[str, str]], message: str, **kw: Any) -> RadioField:
    """Radio buttons that may be left empty (a draft) but never hold anything off the list."""
    return RadioField(
        label,
        choices=options(choices),
        validators=[Optional()],
        invalid_choice_message=message,
        **kw,
    )


def _text(label: str, **kw: Any) -> TextAreaField:
    return TextAreaField(
        label,
        validators=[
            Optional(),
            Length(max=TEXT_LIMIT, message=f"Keep this under {TEXT_LIMIT:,} characters."),
        ],
        **kw,
    )


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
    """The fields every review has; `review_form_class` adds one or two per rubric criterion."""

    version = HiddenField()
    overall_score = _radios(
        "Overall impact",
        SCORE_CHOICES,
        SCORE_MESSAGE,
        description="Your judgement of the project's likely impact as a whole, not an average "
        "of the criteria. 1 is exceptional, 9 is poor.",
    )
    confidence = _radios(
        "Your confidence in this review",
        CONFIDENCE_CHOICES,
        CONFIDENCE_MESSAGE,
        description="How well the application falls within your expertise.",
    )
    strengths = _text("Strengths")
    weaknesses = _text("Weaknesses")
    staff_comments = _text(
        "Comments for program staff only",
        description="Never shown to the applicant or to the other reviewers.",
    )
    save = SubmitField("Save draft")
    submit_review = SubmitField("Submit review")

    criteria: list[RubricCriterion] = []

    @property
    def submitting(self) -> bool:
        return bool(self.submit_review.data)

    def criterion_fields(self, criterion: RubricCriterion) -> list[Any]:
        if criterion.kind == "scored":
            return [self[criterion_field(criterion.id, "score")]]
        return [
            self[criterion_field(criterion.id, "sufficient")],
            self[criterion_field(criterion.id, "explanation")],
        ]

    def ordered_fields(self) -> list[Any]:
        """The fields in the order the page shows them (for the error summary)."""
        fields = [f for c in self.criteria for f in self.criterion_fields(c)]
        return [*fields, self.overall_score, self.confidence, *self._texts()]

    def _texts(self) -> list[Any]:
        return [self.strengths, self.weaknesses, self.staff_comments]

    def validate(self, extra_validators: Any = None) -> bool:
        ok = super().validate(extra_validators)
        for c in self.criteria:
            if c.kind != "sufficiency":
                continue
            judged = self[criterion_field(c.id, "sufficient")]
            explanation = self[criterion_field(c.id, "explanation")]
            if judged.data and not judged.errors and not (explanation.data or "").strip():
                explanation.errors = [
                    *explanation.errors,
                    f"Explain why you judged “{c.title}” "
                    + ("sufficient." if judged.data == "yes" else "not sufficient."),
                ]
                ok = False
        return ok

    def values(self) -> dict[str, Any]:
        """The input as services.reviews.save_draft takes it."""
        scores: dict[str, Any] = {}
        for c in self.criteria:
            if c.kind == "scored":
                raw = self[criterion_field(c.id, "score")].data
                if raw:
                    scores[str(c.id)] = {"score": int(raw)}
            else:
                judged = self[criterion_field(c.id, "sufficient")].data
                explanation = (self[criterion_field(c.id, "explanation")].data or "").strip()
                if judged or explanation:
                    scores[str(c.id)] = {
                        "sufficient": None if not judged else judged == "yes",
                        "explanation": explanation,
                    }
        return {
            "criterion_scores": scores,
            "overall_score": int(self.overall_score.data) if self.overall_score.data else None,
            "confidence": int(self.confidence.data) if self.confidence.data else None,
            "strengths": self.strengths.data or "",
            "weaknesses": self.weaknesses.data or "",
            "staff_comments": self.staff_comments.data or "",
        }


def review_form_class(criteria: list[RubricCriterion]) -> type[ReviewForm]:
    """A form class for one rubric: a scored criterion is nine radios with the NIH descriptors and
    the criterion's guidance as hint; a sufficiency criterion is two radios and an explanation."""
    attrs: dict[str, Any] = {"criteria": list(criteria)}
    for c in criteria:
        hint = c.guidance or None
        label = c.title if c.required else f"{c.title} (optional)"
        if c.kind == "scored":
            attrs[criterion_field(c.id, "score")] = _radios(
                label, SCORE_CHOICES, SCORE_MESSAGE, description=hint
            )
        else:
            attrs[criterion_field(c.id, "sufficient")] = _radios(
                label, SUFFICIENCY_CHOICES, SUFFICIENCY_MESSAGE, description=hint
            )
            attrs[criterion_field(c.id, "explanation")] = _text(
                f"Explanation of your judgement of “{c.title}”",
                description="Required with your judgement.",
            )
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
        entry = scores.get(str(c.id)) or {}
        if c.kind == "scored":
            data[criterion_field(c.id, "score")] = entry.get("score")
        else:
            sufficient = entry.get("sufficient")
            data[criterion_field(c.id, "sufficient")] = (
                None if sufficient is None else ("yes" if sufficient else "no")
            )
            data[criterion_field(c.id, "explanation")] = entry.get("explanation") or ""
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
