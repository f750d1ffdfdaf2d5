"""The shape of the code, held in place: one door into core, no import cycles, no Qt below.

Read from the source with ``ast`` (what is written, not what happens to be loaded), in the
spirit of qutebrowser's ``check_pyqt_imports``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import core

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line, module, names) of every absolute import in a file, ``if TYPE_CHECKING:`` ones
    too: a cycle that only the type checker sees is still two modules that need each other."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []


def _sources(*tops: str) -> list[Path]:
    return [p for top in tops for p in sorted((ROOT / top).rglob("*.py"))]


def _module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def _graph(*tops: str) -> dict[str, set[str]]:
    """module → the project modules it imports (``from core.ingest import scan`` is an edge to
    ``core.ingest.scan``)."""
    modules = {_module_of(p): p for p in _sources(*tops)}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = set()
        for _, module, names in _imports(path):
            submodules = {f"{module}.{n}" for n in names if f"{module}.{n}" in modules}
            edges |= submodules
            if module in modules and (not names or len(submodules) < len(names)):
                edges.add(module)
        graph[name] = edges - {name}
    return graph


def test_the_window_uses_core_only_through_its_facade() -> None:
    offences = []
    for path in _sources("desktop_app"):
        for line, module, names in _imports(path):
            where = f"{path.relative_to(ROOT)}:{line}"
            if module.startswith("core."):
                offences.append(f"{where} imports {module}: use `from core import …`")
            elif module == "core":
                offences += [f"{where}: core has no {n!r}" for n in names if n not in core.__all__]
    assert not offences, "\n".join(offences)


def test_every_facade_name_resolves() -> None:
    for name in core.__all__:
        assert getattr(core, name) is not None, name


def test_core_and_export_have_no_import_cycles() -> None:
    graph = _graph("core", "export")
    graph["core"] = set()  # the facade imports lazily (PEP 562): no edges at import time
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*trail[trail.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_core_and_export_never_import_qt() -> None:
    offences = [
        f"{p.relative_to(ROOT)}:{line} imports {m}"
        for p in _sources("core", "export")
        for line, m, _ in _imports(p)
        if m.split(".")[0] in {"PySide6", "PyQt5", "PyQt6", "shiboken6"}
    ]
    assert not offences, "\n".join(offences)


def test_the_facade_lists_what_it_loads() -> None:
    assert sorted(core.__all__) == sorted(core._EXPORTS) and len(set(core.__all__)) == len(
        core.__all__
    )


#: Which parts of core each part may import, following the data flow (README, "Layout").
#: The model knows nothing of libraries; storage knows no model; ingest and query meet only in
#: the library. ``core.ingest.segments`` is plain data and rules (SegmentSpan, SegmentRule) that
#: storage records, so storage may read it; ``core.speech.transcript`` (timed lines) likewise.
#: Speech is its own stage beside ingest: it reads audio with the model runtime's help and hands
#: transcripts to storage.
_MAY_IMPORT = {
    "core.model": {"core.errors", "core.paths", "core.pathnames"},
    "core.store": {
        "core.errors",
        "core.pathnames",
        "core.ingest.segments",
        "core.speech.transcript",
    },
    "core.ingest": {"core.errors", "core.pathnames", "core.paths", "core.model", "core.store"},
    "core.speech": {"core.errors", "core.pathnames", "core.paths", "core.model", "core.store"},
    "core.query": {
        "core.errors",
        "core.pathnames",
        "core.model",
        "core.store",
        "core.ingest.thumbnails",
        "core.speech.transcript",
    },
}
_SHARED = {"core.errors", "core.paths", "core.pathnames", "core.preferences", "core.times"}


def _part(module: str, parts: set[str]) -> str | None:
    return max(
        (p for p in parts if module == p or module.startswith(p + ".")), key=len, default=None
    )


def test_each_part_of_core_imports_only_what_comes_before_it() -> None:
    offences = []
    for module, edges in sorted(_graph("core").items()):
        part = _part(module, set(_MAY_IMPORT))
        if part is None:
            continue
        for target in sorted(edges):
            if _part(target, {part}):
                continue  # within its own part
            if not _part(target, _MAY_IMPORT[part]):
                offences.append(f"{module} imports {target}")
    assert not offences, "\n".join(offences)


def test_shared_modules_depend_on_no_part() -> None:
    graph = _graph("core")
    offences = [
        f"{m} imports {t}" for m in sorted(_SHARED) for t in sorted(graph[m]) if t not in _SHARED
    ]
    assert not offences, "\n".join(offences)


def test_every_declared_command_names_a_function() -> None:
    """``clipseek``, ``clipseek-export`` and ``clipseek-app`` point at callables (a module moved
    into a package once left ``core.cli:main`` naming a module)."""
    import importlib
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    entries = {**project["scripts"], **project["gui-scripts"]}
    assert set(entries) == {"clipseek", "clipseek-export", "clipseek-app"}
    for name, target in entries.items():
        module, _, attr = target.partition(":")
        assert callable(getattr(importlib.import_module(module), attr)), name
