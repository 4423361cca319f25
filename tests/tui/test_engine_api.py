"""The TUI uses the engine only through its documented public API (docs/engine-api.md)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "engine-api.md").read_text(encoding="utf-8")
# every identifier that appears inside `backticks` in the API document
DOCUMENTED = {word for span in re.findall(r"`([^`]+)`", DOC)
              for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", span)}
DOCUMENTED_MODULES = set(re.findall(r"`(engine(?:\.[a-z_]+)?)[.`(]", DOC)) | {"engine"}


def _machine_reads(tree: ast.AST) -> set[str]:
    """Attributes read from an object called `machine` (or `x.machine`)."""
    out = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        value = node.value
        if (isinstance(value, ast.Name) and value.id == "machine") or \
                (isinstance(value, ast.Attribute) and value.attr == "machine"):
            out.add(node.attr)
    return out


def _engine_imports(tree: ast.AST) -> set[tuple[str, str]]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and \
                node.module.split(".")[0] == "engine":
            out |= {(node.module, alias.name) for alias in node.names}
        elif isinstance(node, ast.Import):
            out |= {(alias.name, "") for alias in node.names if alias.name.startswith("engine")}
    return out


def _tui_trees():
    for path in sorted((ROOT / "tui").rglob("*.py")):
        yield path.relative_to(ROOT), ast.parse(path.read_text(encoding="utf-8"))


def test_tui_reads_only_documented_machine_attributes():
    undocumented = {(str(path), name) for path, tree in _tui_trees()
                    for name in _machine_reads(tree)
                    if name not in DOCUMENTED and name != "setter"}
    assert undocumented == set()


def test_tui_imports_only_documented_engine_names():
    bad = set()
    for path, tree in _tui_trees():
        for module, name in _engine_imports(tree):
            if module not in DOCUMENTED_MODULES or (name and name not in DOCUMENTED):
                bad.add((str(path), module, name))
    assert bad == set()


def test_the_scan_sees_machine_reads_and_imports():
    tree = ast.parse("from engine.secret import thing\nmachine.zone_ranges(1)\nself.machine.blks\n")
    assert _machine_reads(tree) == {"zone_ranges", "blks"}
    assert _engine_imports(tree) == {("engine.secret", "thing")}
    assert "zone_ranges" not in DOCUMENTED and "engine.secret" not in DOCUMENTED_MODULES
