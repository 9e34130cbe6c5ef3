"""The arrows go one way: entrypoints -> service layer -> domain, adapters plugged in; the pure
core does no I/O. A newcomer finds any behaviour by reading folder names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "assessment"
# What each layer must not import (its own package's modules, or I/O libraries).
FORBIDDEN = {
    "domain": ("assessment.service_layer", "assessment.adapters", "assessment.entrypoints", "assessment.bootstrap",
               "assessment.settings", "asyncpg", "aiokafka", "fastapi", "faststream"),
    "adapters": ("assessment.service_layer", "assessment.entrypoints", "assessment.bootstrap"),
    "service_layer": ("assessment.entrypoints", "assessment.bootstrap"),
    "entrypoints": ("assessment.bootstrap",),
}


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_from_the_layers_that_use_it(layer):
    for path in sorted((PACKAGE / layer).glob("*.py")):
        wrong = {name for name in imported(path) if name.startswith(FORBIDDEN[layer])}
        assert not wrong, f"{path.relative_to(PACKAGE)} imports {sorted(wrong)}"


def test_the_package_root_holds_only_the_declaration_and_its_settings():
    assert {p.name for p in PACKAGE.glob("*.py")} == {"__init__.py", "__main__.py", "bootstrap.py", "settings.py"}


def test_no_fixture_or_demo_ships_in_the_package():
    assert not [p for p in PACKAGE.rglob("*.py") if p.stem in {"testing", "examples", "demo", "contract_docs"}]
