"""Rubric criterion kinds come from one registry (app/criteria.py), checked when the app starts:
a kind the database allows but nobody registered, or a kind without all its parts, stops the
start-up instead of falling into some other kind's branch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app import create_app, criteria
from app.criteria import KINDS, CriterionKind, Scored, UnknownCriterionKind, check_registry, kind_of


def start(tmp_path: Path) -> Any:
    return create_app(
        {
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'startup.sqlite'}",
            "STORAGE_DIR": str(tmp_path / "files"),
        }
    )


def test_every_kind_the_database_allows_is_registered_with_all_its_parts(tmp_path: Path) -> None:
    from app.models.round import CRITERION_KINDS

    assert set(KINDS) == set(CRITERION_KINDS)
    start(tmp_path)  # no error


def test_the_app_refuses_to_start_with_a_kind_the_registry_does_not_know(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.models.round as round_model

    monkeypatch.setattr(
        round_model, "CRITERION_KINDS", (*round_model.CRITERION_KINDS, "ranked_choice")
    )
    with pytest.raises(RuntimeError, match="'ranked_choice' is allowed by the database but not"):
        start(tmp_path)


def test_the_app_refuses_to_start_with_a_kind_the_database_does_not_allow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Extra(Scored):
        name = "extra"

    monkeypatch.setattr(criteria, "KINDS", {**KINDS, "extra": Extra()})
    with pytest.raises(RuntimeError, match="'extra' is registered but the database does not"):
        start(tmp_path)


def test_a_kind_without_its_macros_or_methods_is_refused() -> None:
    class Half(CriterionKind):
        name = "half"
        title = "Half a kind"
        parts = ("answer",)
        macro = "half"

    class Module:  # a template module without the half_* macros
        pass

    with pytest.raises(RuntimeError) as refused:
        check_registry(["half"], {"half": Half()}, macros=Module)
    message = str(refused.value)
    for missing in ("fields", "stored", "problems", "aggregate", "csv_cells", "half_input"):
        assert missing in message, missing
    with pytest.raises(RuntimeError, match="has no title"):

        class Untitled(Scored):
            title = ""

        check_registry(["scored"], {"scored": Untitled()})


def test_an_unknown_kind_is_an_error_not_a_fallback() -> None:
    with pytest.raises(UnknownCriterionKind):
        kind_of("ranked_choice")
    assert kind_of("scored").counts_in_score
