"""Finding names spelled as strings in the project's source (for the tests that keep a
contract's names in one module)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def string_literals(pattern: str, *, allowed: Path) -> list[str]:
    """``path:line: 'value'`` of every string constant of ``crawler/`` and ``storage/``
    matching ``pattern``, outside ``allowed`` (docstrings are text, not names)."""
    found: list[str] = []
    for package in ("crawler", "storage"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == allowed:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            docstrings = {
                id(node.value)
                for node in ast.walk(tree)
                if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            }
            found.extend(
                f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}"
                for node in ast.walk(tree)
                if isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and re.match(pattern, node.value)
            )
    return found
