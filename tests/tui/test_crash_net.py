"""One crash net: the engine runner's worker is the only place in tui/ (and bridge/) that catches
every exception; anywhere else a broad except would hide a bug."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def broad_handlers(tree: ast.AST) -> int:
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler):
            names = []
            if node.type is None:
                names = ["<bare>"]
            elif isinstance(node.type, ast.Name):
                names = [node.type.id]
            elif isinstance(node.type, ast.Tuple):
                names = [e.id for e in node.type.elts if isinstance(e, ast.Name)]
            count += any(n in ("<bare>", "Exception", "BaseException") for n in names)
    return count


def test_the_runner_is_the_one_crash_net():
    found = {}
    for package in ("tui", "bridge"):
        for path in sorted((ROOT / package).rglob("*.py")):
            n = broad_handlers(ast.parse(path.read_text(encoding="utf-8")))
            if n:
                found[str(path.relative_to(ROOT))] = n
    assert found == {"tui/runner.py": 1}


def test_the_scan_sees_broad_handlers():
    code = "try:\n    x()\nexcept (ValueError, Exception):\n    pass\ntry:\n    y()\nexcept:\n    pass\n"
    assert broad_handlers(ast.parse(code)) == 2
    assert broad_handlers(ast.parse("try:\n    x()\nexcept ValueError:\n    pass\n")) == 0
