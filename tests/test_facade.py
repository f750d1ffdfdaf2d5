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


def _imports(path: Path, *, runtime_only: bool = False) -> Iterator[tuple[int, str, list[str]]]:
    """(line, module, names) of every import in a file; ``runtime_only`` skips the ones under
    ``if TYPE_CHECKING:`` (they never run, so they cannot make a cycle)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    if runtime_only:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skipped |= {id(n) for child in node.body for n in ast.walk(child)}
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []


def test_the_window_uses_core_only_through_its_facade() -> None:
    offences = []
    for path in sorted((ROOT / "desktop_app").glob("*.py")):
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


def _module_of(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def test_core_and_export_have_no_import_cycles() -> None:
    modules = {
        _module_of(p): p for top in ("core", "export") for p in sorted((ROOT / top).glob("*.py"))
    }
    graph = {
        name: {m for _, m, _ in _imports(path, runtime_only=True) if m in modules and m != name}
        for name, path in modules.items()
    }
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
        for top in ("core", "export")
        for p in sorted((ROOT / top).glob("*.py"))
        for line, m, _ in _imports(p)
        if m.split(".")[0] in {"PySide6", "PyQt5", "PyQt6", "shiboken6"}
    ]
    assert not offences, "\n".join(offences)


def test_the_facade_lists_what_it_loads() -> None:
    assert sorted(core.__all__) == sorted(core._EXPORTS) and len(set(core.__all__)) == len(
        core.__all__
    )
