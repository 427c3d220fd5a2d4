"""Rubric criterion kinds: everything a kind means, in one place.

A rubric criterion has a kind (``RubricCriterion.kind``). The kind decides, here and nowhere else:

* its title (the rubric editor's choice and the rubric tables);
* its fields in the reviewer's form (``fields``), what the form refuses (``form_errors``), the
  value stored on the review (``stored``, in ``Review.criterion_scores[str(criterion id)]``) and
  the form's initial values from it (``initial``);
* what a review still needs before it can be submitted (``problems``);
* whether it counts in a review's weighted criterion score (``counts_in_score`` with ``score``),
  and its aggregate over an application's reviews in the ranking (``aggregate``);
* its cells in the ranking CSV (``csv_header``, ``csv_cells``);
* its template macros, in ``templates/criteria/_kinds.html``: ``<macro>_input`` (the review
  form), ``<macro>_answer`` (a finished review) and ``<macro>_ranking`` (the ranking table).

``KINDS`` must cover exactly the kinds the database allows (``CRITERION_KINDS`` of the model,
kept by its CHECK constraint and the migrations); ``check_registry`` refuses to start the app
otherwise, or when a kind lacks one of its parts. A new kind is one class below, its macros, the
model's list and a migration for the CHECK constraint.

This module imports no model and no service: it works on anything with a criterion's ``id``,
``title``, ``guidance``, ``kind``, ``required`` and ``weight``, and on the stored entries (dicts).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any, ClassVar, Protocol

from wtforms import Field, RadioField, TextAreaField
from wtforms.validators import Length, Optional

try:
    from wtforms import SelectChoice
except ImportError:  # WTForms 3.2 takes (value, label) tuples
    SelectChoice = None

NIH_SCALE: dict[int, str] = {
    1: "Exceptional",
    2: "Outstanding",
    3: "Excellent",
    4: "Very good",
    5: "Good",
    6: "Satisfactory",
    7: "Fair",
    8: "Marginal",
    9: "Poor",
}
TEXT_LIMIT = 20000
MACRO_FILE = "criteria/_kinds.html"
MACRO_PURPOSES = ("input", "answer", "ranking")
Entry = dict[str, Any]  # one criterion's stored answer in a review


class Criterion(Protocol):
    id: int
    title: str
    guidance: str
    kind: str
    required: bool
    weight: Decimal


def criterion_field(criterion_id: int, part: str) -> str:
    """The name of a rubric criterion's form field; part is one of its kind's ``parts``."""
    return f"criterion_{criterion_id}_{part}"


def options(pairs: Iterable[tuple[str, str]]) -> list[Any]:
    """Choices as the installed WTForms wants them (as forms.options; this module is below the
    forms package, since services and rules use it)."""
    return list(pairs) if SelectChoice is None else [SelectChoice(v, t) for v, t in pairs]


def radios(label: str, choices: Iterable[tuple[str, str]], message: str, **kw: Any) -> RadioField:
    """Radio buttons that may be left empty (a draft) but never hold anything off the list."""
    return RadioField(
        label,
        choices=options(choices),
        validators=[Optional()],
        invalid_choice_message=message,
        **kw,
    )


def text(label: str, **kw: Any) -> TextAreaField:
    return TextAreaField(
        label,
        validators=[
            Optional(),
            Length(max=TEXT_LIMIT, message=f"Keep this under {TEXT_LIMIT:,} characters."),
        ],
        **kw,
    )


def _share(counts: tuple[int, int]) -> str:
    yes, answered = counts
    return f"{yes}/{answered}" if answered else ""


class CriterionKind(ABC):
    """One kind of rubric criterion. A subclass gives every abstract method (else it cannot be
    built) and every class attribute (``check_registry`` checks them at start-up)."""

    name: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]  # how a reviewer answers it, for the rubric editor's help
    parts: ClassVar[tuple[str, ...]]  # its form fields, criterion_field(id, part)
    macro: ClassVar[str]  # prefix of its macros in MACRO_FILE
    counts_in_score: ClassVar[bool] = False  # enters the review's weighted criterion score

    def field_name(self, criterion: Criterion, part: str) -> str:
        return criterion_field(criterion.id, part)

    @abstractmethod
    def fields(self, criterion: Criterion, label: str, hint: str | None) -> dict[str, Field]:
        """The unbound form fields, by part."""

    @abstractmethod
    def initial(self, entry: Entry) -> dict[str, Any]:
        """The form's initial values, by part, from the stored entry."""

    @abstractmethod
    def stored(self, data: dict[str, Any]) -> Entry | None:
        """The entry to store from the form's values by part; None stores nothing."""

    def form_errors(self, criterion: Criterion, data: dict[str, Any]) -> dict[str, str]:
        """Errors the form shows beside a part (the ones its field validators cannot see)."""
        return {}

    @abstractmethod
    def problems(self, criterion: Criterion, entry: Entry) -> list[tuple[str, str]]:
        """What the review still needs for this criterion before submission: (part, message)."""

    def score(self, entry: Entry) -> int | None:
        """Its 1–9 score in the entry, for a kind that counts in the weighted score."""
        return None

    @abstractmethod
    def aggregate(self, entries: Sequence[Entry]) -> Any:
        """Its summary over an application's submitted reviews (one entry per review)."""

    @abstractmethod
    def csv_header(self, criterion: Criterion) -> list[str]:
        """Its column names in the ranking CSV."""

    @abstractmethod
    def csv_cells(self, aggregate: Any) -> list[str]:
        """Its cells in the ranking CSV, from its aggregate."""

    @abstractmethod
    def example(self, overall: int) -> Entry:
        """A plausible answer of a reviewer whose overall score is `overall` (the demo's)."""


class Scored(CriterionKind):
    """Scored on the whole-number NIH scale, 1 exceptional … 9 poor; counts in the weighted
    criterion score, and the ranking shows its mean."""

    name = "scored"
    title = "Scored 1–9"
    description = "scored on the whole-number 1–9 scale (1 exceptional … 9 poor)"
    parts = ("score",)
    macro = "scored"
    counts_in_score = True
    MESSAGE = "Choose a score from 1 (exceptional) to 9 (poor)."
    CHOICES = [(str(n), f"{n} · {title}") for n, title in NIH_SCALE.items()]

    def fields(self, criterion: Criterion, label: str, hint: str | None) -> dict[str, Field]:
        return {"score": radios(label, self.CHOICES, self.MESSAGE, description=hint)}

    def initial(self, entry: Entry) -> dict[str, Any]:
        return {"score": entry.get("score")}

    def stored(self, data: dict[str, Any]) -> Entry | None:
        return {"score": int(data["score"])} if data.get("score") else None

    def problems(self, criterion: Criterion, entry: Entry) -> list[tuple[str, str]]:
        if criterion.required and entry.get("score") not in NIH_SCALE:
            return [("score", f"score “{criterion.title}”")]
        return []

    def score(self, entry: Entry) -> int | None:
        value = entry.get("score")
        return value if type(value) is int and value in NIH_SCALE else None

    def aggregate(self, entries: Sequence[Entry]) -> float | None:
        values = [float(s) for s in map(self.score, entries) if s is not None]
        return math.fsum(values) / len(values) if values else None

    def csv_header(self, criterion: Criterion) -> list[str]:
        return [
            f"criterion_{criterion.id}_mean: {criterion.title} "
            f"(weight {criterion.weight.normalize()})"
        ]

    def csv_cells(self, aggregate: float | None) -> list[str]:
        return ["" if aggregate is None else f"{aggregate:.2f}"]

    def example(self, overall: int) -> Entry:
        return {"score": overall}


class Sufficiency(CriterionKind):
    """Judged sufficient or not sufficient, with an explanation; reported, not scored."""

    name = "sufficiency"
    title = "Sufficient / not sufficient"
    description = "judged sufficient / not sufficient with an explanation"
    parts = ("sufficient", "explanation")
    macro = "sufficiency"
    MESSAGE = "Choose sufficient or not sufficient."
    CHOICES = [("yes", "Sufficient"), ("no", "Not sufficient")]

    def fields(self, criterion: Criterion, label: str, hint: str | None) -> dict[str, Field]:
        return {
            "sufficient": radios(label, self.CHOICES, self.MESSAGE, description=hint),
            "explanation": text(
                f"Explanation of your judgement of “{criterion.title}”",
                description="Required with your judgement.",
            ),
        }

    def initial(self, entry: Entry) -> dict[str, Any]:
        sufficient = entry.get("sufficient")
        return {
            "sufficient": None if sufficient is None else ("yes" if sufficient else "no"),
            "explanation": entry.get("explanation") or "",
        }

    def stored(self, data: dict[str, Any]) -> Entry | None:
        judged = data.get("sufficient")
        explanation = (data.get("explanation") or "").strip()
        if not judged and not explanation:
            return None
        return {"sufficient": None if not judged else judged == "yes", "explanation": explanation}

    def form_errors(self, criterion: Criterion, data: dict[str, Any]) -> dict[str, str]:
        judged = data.get("sufficient")
        if judged and not (data.get("explanation") or "").strip():
            return {
                "explanation": f"Explain why you judged “{criterion.title}” "
                + ("sufficient." if judged == "yes" else "not sufficient.")
            }
        return {}

    def problems(self, criterion: Criterion, entry: Entry) -> list[tuple[str, str]]:
        if criterion.required and entry.get("sufficient") not in (True, False):
            return [("sufficient", f"judge “{criterion.title}” sufficient or not")]
        if entry.get("sufficient") is not None and not (entry.get("explanation") or "").strip():
            return [("explanation", f"explain your judgement of “{criterion.title}”")]
        return []

    def aggregate(self, entries: Sequence[Entry]) -> tuple[int, int]:
        """(judged sufficient, judged)."""
        judged = [e.get("sufficient") for e in entries if e.get("sufficient") in (True, False)]
        return (sum(1 for j in judged if j), len(judged))

    def csv_header(self, criterion: Criterion) -> list[str]:
        return [f"criterion_{criterion.id}_sufficient: {criterion.title}"]

    def csv_cells(self, aggregate: tuple[int, int]) -> list[str]:
        return [_share(aggregate)]

    def example(self, overall: int) -> Entry:
        return {"sufficient": True, "explanation": "The budget matches the work plan."}


class YesNo(CriterionKind):
    """A yes-or-no question ("The project has a letter of support from a foreign partner").
    Reported, not scored: the ranking shows the share of reviewers answering yes and its order
    does not change."""

    name = "yes_no"
    title = "Yes / no"
    description = "answered yes or no"
    parts = ("answer",)
    macro = "yes_no"
    MESSAGE = "Answer yes or no."
    CHOICES = [("yes", "Yes"), ("no", "No")]

    def fields(self, criterion: Criterion, label: str, hint: str | None) -> dict[str, Field]:
        return {"answer": radios(label, self.CHOICES, self.MESSAGE, description=hint)}

    def initial(self, entry: Entry) -> dict[str, Any]:
        yes = entry.get("yes")
        return {"answer": None if yes not in (True, False) else ("yes" if yes else "no")}

    def stored(self, data: dict[str, Any]) -> Entry | None:
        answer = data.get("answer")
        return {"yes": answer == "yes"} if answer in ("yes", "no") else None

    def problems(self, criterion: Criterion, entry: Entry) -> list[tuple[str, str]]:
        if criterion.required and entry.get("yes") not in (True, False):
            return [("answer", f"answer “{criterion.title}” yes or no")]
        return []

    def aggregate(self, entries: Sequence[Entry]) -> tuple[int, int]:
        """(answered yes, answered)."""
        answers = [e.get("yes") for e in entries if e.get("yes") in (True, False)]
        return (sum(1 for a in answers if a), len(answers))

    def csv_header(self, criterion: Criterion) -> list[str]:
        return [
            f"criterion_{criterion.id}_yes: {criterion.title}",
            f"criterion_{criterion.id}_yes_percent: {criterion.title}",
        ]

    def csv_cells(self, aggregate: tuple[int, int]) -> list[str]:
        yes, answered = aggregate
        return [_share(aggregate), f"{100 * yes / answered:.1f}" if answered else ""]

    def example(self, overall: int) -> Entry:
        return {"yes": overall <= 4}


KINDS: dict[str, CriterionKind] = {k.name: k for k in (Scored(), Sufficiency(), YesNo())}


class UnknownCriterionKind(LookupError):
    """A criterion's kind that the registry does not know."""


def kind_of(criterion_or_name: Criterion | str) -> CriterionKind:
    """The kind of a criterion (or the kind of that name); an unknown kind is an error."""
    name = criterion_or_name if isinstance(criterion_or_name, str) else criterion_or_name.kind
    try:
        return KINDS[name]
    except KeyError:
        raise UnknownCriterionKind(f"no criterion kind {name!r} in app.criteria.KINDS") from None


def titles() -> dict[str, str]:
    """Each kind's title by name, in the registry's order (the rubric editor's choices)."""
    return {name: kind.title for name, kind in KINDS.items()}


def check_registry(
    allowed: Iterable[str],
    kinds: dict[str, CriterionKind] | None = None,
    macros: Callable[[], Any] | None = None,
) -> None:
    """Refuse to start unless the registry and the database's allowed kinds are the same set and
    every kind has all its parts (``macros`` gives the template module of MACRO_FILE)."""
    kinds = KINDS if kinds is None else kinds
    allowed = list(allowed)
    problems = [
        f"kind {n!r} is allowed by the database but not registered"
        for n in allowed
        if n not in kinds
    ]
    problems += [
        f"kind {n!r} is registered but the database does not allow it"
        for n in kinds
        if n not in allowed
    ]
    module = macros() if macros is not None else None
    for name, kind in kinds.items():
        if getattr(kind, "name", None) != name:
            problems.append(f"kind {name!r} is registered under another name")
        for attribute in ("title", "description", "parts", "macro"):
            if not getattr(kind, attribute, None):
                problems.append(f"kind {name!r} has no {attribute}")
        if kind.counts_in_score and type(kind).score is CriterionKind.score:
            problems.append(f"kind {name!r} counts in the score but gives none")
        if module is not None and getattr(kind, "macro", None):
            for purpose in MACRO_PURPOSES:
                if not callable(getattr(module, f"{kind.macro}_{purpose}", None)):
                    problems.append(f"kind {name!r} has no macro {kind.macro}_{purpose}")
    if problems:
        raise RuntimeError("rubric criterion kinds: " + "; ".join(problems))


def install(app: Any, allowed: Iterable[str]) -> None:
    """At start-up: check the registry against the kinds the model allows (an unknown kind is an
    error, never a fallback), and give templates the kinds and their macros."""

    def macro(criterion: Criterion, purpose: str) -> Any:
        module = app.jinja_env.get_template(MACRO_FILE).module
        return getattr(module, f"{kind_of(criterion).macro}_{purpose}")

    app.jinja_env.globals.update(
        criterion_kind=kind_of,
        criterion_macro=macro,
        criterion_kinds=list(KINDS.values()),
        nih_scale=NIH_SCALE,
    )
    # After the globals: the macros' module resolves the names it uses when it is first made.
    check_registry(allowed, macros=lambda: app.jinja_env.get_template(MACRO_FILE).module)
