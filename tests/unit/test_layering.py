"""Dependencies point down: nothing below ``ledger.api`` imports it (DESIGN.md, style)."""

from __future__ import annotations

import ast
from pathlib import Path

import ledger

PACKAGE = Path(ledger.__file__).parent
# Above the API: the process entry points that build the app.
ABOVE_API = {"serving.py", "cli.py", "__main__.py"}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_module_below_the_api_imports_the_api() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "api" or str(relative) in ABOVE_API:
            continue
        if any(m == "ledger.api" or m.startswith("ledger.api.") for m in _imports(path)):
            offenders.append(str(relative))
    assert offenders == []
