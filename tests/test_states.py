"""The state groups (tags in `app/states.py`) agree with the lifecycles declared in `workflows/`.

Each group the code asks for is pinned here to what the declarations say it means, so a new state
or transition that leaves a group behind fails with the group named.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import CheckConstraint, inspect

from app import create_app
from app.extensions import db
from app.states import FINAL, LIFECYCLE_STATES, LifecycleState
from workflows import LIFECYCLES, Lifecycle


def _reachable(lifecycle: Lifecycle, start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        state = todo.pop()
        for t in lifecycle.transitions:
            if state in t.sources and t.dest not in seen:
                seen.add(t.dest)
                todo.append(t.dest)
    return seen


def _sources(lifecycle: Lifecycle, trigger: str) -> set[str]:
    return set(lifecycle.transition(trigger).sources)


def _dest(lifecycle: Lifecycle, *triggers: str) -> set[str]:
    return {lifecycle.transition(t).dest for t in triggers}


def _around(lifecycle: Lifecycle, trigger: str) -> set[str]:
    return _sources(lifecycle, trigger) | _dest(lifecycle, trigger)


def _final(lifecycle: Lifecycle) -> set[str]:
    return {s.name for s in lifecycle.states if s.final}


def _all(lifecycle: Lifecycle) -> set[str]:
    return set(lifecycle.state_names)


DECISIONS = ("award", "waitlist", "decline")

# lifecycle, tag, the states the declaration says carry it
GROUPS: list[tuple[str, str, Callable[[Lifecycle], set[str]]]] = [
    ("application", "reference_optional", lambda lc: {lc.initial} | _dest(lc, "withdraw")),
    ("application", "assignable", lambda lc: _around(lc, "start_review")),
    ("application", "reviews_reopenable", lambda lc: _around(lc, "complete_review")),
    ("application", "undecided", lambda lc: _sources(lc, "award")),
    ("application", "decided", lambda lc: _dest(lc, *DECISIONS)),
    ("application", "passed_over", lambda lc: _dest(lc, "waitlist", "decline")),
    ("application", "ranked", lambda lc: _around(lc, "complete_review") | _dest(lc, *DECISIONS)),
    ("review", "open", lambda lc: _sources(lc, "submit")),
    ("review", "active", lambda lc: _all(lc) - _final(lc)),
    ("award", "committed", lambda lc: _all(lc) - _dest(lc, "refuse", "rescind")),
    ("award", "signed", lambda lc: _reachable(lc, lc.transition("accept").dest)),
    ("award", "reporting", lambda lc: _reachable(lc, lc.transition("accept").dest) - _final(lc)),
    ("impact_report", "open", lambda lc: _sources(lc, "submit")),
    ("impact_report", "filed", lambda lc: _all(lc) - _sources(lc, "submit")),
    ("round", "editable", lambda lc: _all(lc) - _reachable(lc, lc.transition("close").dest)),
    ("round", "funding_line", lambda lc: _reachable(lc, lc.transition("start_review").dest)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "tag", "expected"), GROUPS, ids=[f"{n}-{t}" for n, t, _ in GROUPS]
)
def test_each_group_holds_the_states_its_declaration_says(
    name: str, tag: str, expected: Callable[[Lifecycle], set[str]]
) -> None:
    lifecycle = LIFECYCLES[name]
    tagged, says = set(lifecycle.states.tagged(tag)), expected(lifecycle)
    assert tagged == says, f"{name}: tagged {tag!r}: {sorted(tagged)}; declared: {sorted(says)}"


def test_every_tag_is_pinned_above_and_names_are_their_values() -> None:
    pinned = {(name, tag) for name, tag, _ in GROUPS}
    for name, states in LIFECYCLE_STATES.items():
        assert LIFECYCLES[name].states is states, f"{name}: the declaration uses another enum"
        for state in states:
            assert state.name == state.value, f"{name}.{state.name}: name and value differ"
            for tag in state.tags - {FINAL}:
                assert (name, tag) in pinned, f"{name}: tag {tag!r} is not pinned above"


def test_an_unknown_tag_is_an_error() -> None:
    with pytest.raises(LookupError, match="rankd"):
        LIFECYCLE_STATES["application"].tagged("rankd")


def test_groups_are_plain_names_in_declaration_order() -> None:
    for states in LIFECYCLE_STATES.values():
        order = list(states.names())
        for tag in {t for s in states for t in s.tags}:
            group = states.tagged(tag)
            assert all(type(s) is str for s in group)
            assert list(group) == sorted(group, key=order.index)
    assert issubclass(LIFECYCLE_STATES["round"], LifecycleState)


# migrations/env.py is Flask-Migrate's template, which still asks for db.get_engine().
@pytest.mark.filterwarnings("ignore:'get_engine' is deprecated:DeprecationWarning")
def test_the_migrations_make_the_check_constraints_the_models_declare(tmp_path: Path) -> None:
    """Alembic's autogenerate (`flask db check`) does not compare CHECK constraints: this does,
    so a state added to an enum without its migration is pointed out here."""
    migrated = create_app(
        {
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'migrated.sqlite'}",
            "STORAGE_DIR": str(tmp_path / "files"),
        }
    )
    with migrated.app_context():
        upgrade()
        inspector = inspect(db.engine)
        for table in db.metadata.sorted_tables:
            declared = {
                c.name: str(c.sqltext) for c in table.constraints if isinstance(c, CheckConstraint)
            }
            found = {c["name"]: c["sqltext"] for c in inspector.get_check_constraints(table.name)}
            assert found == declared, f"{table.name}: the migrations and the model differ"
        db.engine.dispose()
