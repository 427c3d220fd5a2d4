"""The import graph of the domain core: no circle, and the layers import only downwards.

Every module under `app/`, `workflows/`, `forms/` and `reports/` is parsed with `ast`; every import
counts, at the top of a module, inside a function, or as `__import__("...")` (only imports under
`if TYPE_CHECKING:` are left out, as they never run). `from app.services import x` where `x` is a
module counts as importing `app.services.x`. The rule these tests hold is the one README.md's
"Architecture" section states.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("app", "workflows", "forms", "reports")
# The largest strongly connected component allowed: two modules may know each other (today only
# services.rounds and services.rubrics do); three or more in a ring is the circle this test exists
# to prevent.
MAX_COMPONENT = 2


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    """Every node below `node`, except the bodies of `if TYPE_CHECKING:`."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield other
                yield from _walk(other)
            continue
        yield child
        yield from _walk(child)


def _resolve_relative(module: str, is_package: bool, level: int, name: str | None) -> str:
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: -(level - 1)]
    return ".".join([*base, name] if name else base)


def _is_import_call(func: ast.expr) -> bool:
    """`__import__(...)`, `import_module(...)` or `importlib.import_module(...)`."""
    if isinstance(func, ast.Name):
        return func.id in ("__import__", "import_module")
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def _imported(module: str, path: Path) -> set[str]:
    """The names of every module `module` imports, as written (not yet narrowed to ours)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    names: set[str] = set()
    for node in _walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = (
                _resolve_relative(module, is_package, node.level, node.module)
                if node.level
                else node.module or ""
            )
            # Resolved below: `target.name` where that is a module, else `target` itself.
            names.update(f"{target}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and _is_import_call(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value)
    return names


@cache
def import_graph() -> nx.DiGraph:
    """Modules of the domain core, and an edge from each to every one of them it imports."""
    modules = _modules()
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for module, path in modules.items():
        for name in _imported(module, path):
            # `import app.services.x` names the module itself; `from app.models import Award`
            # names `app.models.Award`, which is not a module, so it means `app.models`.
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module:
                graph.add_edge(module, name)
    return graph


def _in(module: str, layer: str) -> bool:
    return module == layer or module.startswith(layer + ".")


def test_the_graph_sees_imports_inside_functions_and_dunder_import() -> None:
    graph = import_graph()
    assert len(graph) > 50
    # create_app imports the views inside a function; the test would be blind without it.
    assert graph.has_edge("app", "app.views.officer")
    # `from app import charts` is the module app.charts, not the package app.
    assert graph.has_edge("app.views.catalog", "app.charts")
    assert not graph.has_edge("app.views.catalog", "app")


def test_the_parser_counts_every_kind_of_import(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "import a.b\n"
        "from c import d, e\n"
        "if TYPE_CHECKING:\n"
        "    from never import runs\n"
        "def f():\n"
        "    from g.h import i\n"
        "    return __import__('j.k', fromlist=['x'])\n"
    )
    found = _imported("pkg.m", source)
    assert {"a.b", "c.d", "c.e", "g.h.i", "j.k"} <= found
    assert not any(name.startswith("never") for name in found)


def test_no_import_circle_of_more_than_two_modules() -> None:
    graph = import_graph()
    circles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    too_big = [c for c in circles if len(c) > MAX_COMPONENT]
    report = "\n".join(
        f"{len(c)} modules import each other in a circle: " + ", ".join(c)
        for c in sorted(too_big, key=len, reverse=True)
    )
    assert not too_big, report


# What each layer must never import (README.md, "Architecture"). Each line holds today; a layer
# rule issue 8 has not reached yet is added when it holds, never listed with exceptions.
FORBIDDEN: dict[str, tuple[str, ...]] = {
    # Services change state; they leave work in the outbox, and never reach the job bodies, the
    # runner, the pages or the forms.
    "app.services": (
        "app.views",
        "app.jobs",
        "app.effects",
        "app.worker",
        "app.unit_of_work",
        "app.cli",
        "forms",
    ),
    "app.outbox": ("app.services", "app.jobs", "app.effects", "workflows", "app.views"),
    "forms": ("app.views", "app.jobs", "app.effects", "workflows"),
    # Declarations import models, states and rules (guards) and the outbox (numbering); what a
    # service does after a transition it registers with `follows`, so no service is imported.
    "workflows": ("app.services", "app.views", "app.jobs", "app.effects", "forms", "reports"),
    # Reports are given data and give bytes: no query, no service.
    "reports": (
        "app.extensions",
        "app.services",
        "app.views",
        "app.jobs",
        "app.effects",
        "workflows",
        "forms",
    ),
    # Models know their states (app.states), never the lifecycles that move them.
    "app.models": (
        "workflows",
        "app.rules",
        "app.services",
        "app.outbox",
        "app.jobs",
        "app.effects",
        "app.views",
        "forms",
        "reports",
    ),
    # States are plain data every layer may read.
    "app.states": ("app.models", "app.extensions", "workflows", "app.services", "app.rules"),
    # Rules only read: never a service, the outbox, a job or a page.
    "app.rules": (
        "app.services",
        "app.outbox",
        "app.jobs",
        "app.effects",
        "app.views",
        "forms",
        "reports",
    ),
}


def _violations(layer: str, forbidden: tuple[str, ...]) -> list[str]:
    graph = import_graph()
    return sorted(
        f"{source} imports {target}"
        for source, target in graph.edges
        if _in(source, layer) and any(_in(target, f) for f in forbidden)
    )


def test_each_layer_imports_only_downwards() -> None:
    broken = [v for layer, forbidden in FORBIDDEN.items() for v in _violations(layer, forbidden)]
    assert not broken, "\n".join(broken)


def test_rules_never_reach_fire() -> None:
    graph = import_graph()
    firing = {"workflows", "workflows.engine"}  # where `fire` is
    reached = sorted(
        f"{source} imports {target}"
        for source, target in graph.edges
        if _in(source, "app.rules") and target in firing
    )
    assert not reached, reached


def test_every_follow_up_names_a_transition_that_exists(app: object) -> None:
    from workflows import LIFECYCLES
    from workflows.engine import registered_follow_ups

    follow_ups = registered_follow_ups()
    # What the actions did to other rows before issue 8, and the stored scores of issue 9 (every
    # review move that can change a score, and a withdrawal, which leaves the ranking); a
    # follow-up lost is a behaviour lost.
    assert set(follow_ups) == {
        ("application", "award"),
        ("application", "withdraw"),
        ("award", "accept"),
        ("review", "recuse"),
        ("review", "reopen"),
        ("review", "submit"),
        ("impact_report", "submit"),
        # The public catalog's version (issue 9): every transition that changes what it shows.
        ("award", "accept"),
        ("award", "activate"),
        ("award", "suspend"),
        ("award", "resume"),
        ("award", "close"),
        ("impact_report", "accept"),
    }
    for trigger in ("submit", "reopen", "recuse"):
        assert "app.services.scores.review_moved" in follow_ups[("review", trigger)]
    for lifecycle, trigger in follow_ups:
        assert trigger in {t.trigger for t in LIFECYCLES[lifecycle].transitions}, (
            f"{lifecycle}.{trigger} is followed but not declared"
        )


def test_only_the_runner_imports_the_job_bodies() -> None:
    graph = import_graph()
    assert sorted(graph.predecessors("app.effects")) == ["app.jobs"]


def test_only_the_app_factory_imports_the_views() -> None:
    graph = import_graph()
    importers = sorted(
        {
            source
            for source, target in graph.edges
            if _in(target, "app.views") and not _in(source, "app.views")
        }
    )
    assert importers == ["app"], importers
