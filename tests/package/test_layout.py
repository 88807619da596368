"""The package's shape: no import cycles, every package says what it holds, one-way layers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "tagger"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in ROOT.rglob("*.py")}


def _imports(path: Path, known: set[str]) -> set[str]:
    """Modules of ``tagger`` that ``path`` imports anywhere (top level or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from tagger.data import vectors`` imports the submodule when there is one
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    graph = {}
    for name, path in modules.items():
        # importing a.b.c runs a/__init__ and a/b/__init__ first: not an edge of a's own
        graph[name] = {m for m in _imports(path, known)
                       if m != name and not name.startswith(m + ".")}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_cycle_finder_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles_in_tagger():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("package", sorted(p.parent.name for p in ROOT.rglob("__init__.py")))
def test_every_package_init_says_what_it_holds(package):
    init = ROOT / "__init__.py" if package == "tagger" else next(
        p for p in ROOT.rglob("__init__.py") if p.parent.name == package)
    doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
    assert doc and len(doc.splitlines()) >= 3, f"{init} needs a docstring saying what is inside"
    assert "may import" in doc.lower(), f"{init}: say what the package may import"


def test_nothing_imports_training_or_serving_back():
    graph = import_graph()
    for name, imported in graph.items():
        for layer in ("tagger.training", "tagger.serving", "tagger.beam"):
            if name.startswith(layer) or name == "tagger.cli":
                continue
            if name.startswith("tagger.beam") and layer == "tagger.serving":
                continue  # the Beam pipeline tags through serving's code
            bad = sorted(m for m in imported if m == layer or m.startswith(layer + "."))
            # the evaluate and silver CLIs run exported models: they may load them
            bad = [m for m in bad if not (name.startswith("tagger.evaluation")
                                          and m == "tagger.serving.model")]
            assert not bad, f"{name} imports {bad}"


def test_serving_and_beam_need_no_training_code():
    graph = import_graph()
    for name, imported in graph.items():
        if name.startswith(("tagger.serving", "tagger.beam")):
            bad = sorted(m for m in imported if m.split(".")[1] in (
                "training", "models", "data", "layers", "cells", "evaluation", "export"))
            assert not bad, f"{name} imports {bad}"


def test_no_flat_serving_or_training_modules_at_the_top():
    top = {p.name for p in ROOT.glob("*.py")}
    leftovers = sorted(n for n in top if n.startswith(("serving", "training", "http_server",
                                                      "evaluat", "metrics", "report")))
    assert not leftovers, leftovers


def test_only_tagger_beam_imports_apache_beam():
    """Apache Beam is an optional extra: no other module may need it."""
    for path in ROOT.rglob("*.py"):
        if _module_name(path).startswith("tagger.beam"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.split(".")[0] == "apache_beam" for n in names), path
