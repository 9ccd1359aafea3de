"""The SDK's packages import one way (ARCHITECTURE.md): cli -> fl, data -> ledger, he, store,
keys -> gateway; admin serves cli and tests only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SDK = Path(__file__).resolve().parents[2] / "sdk" / "fedfabric"

ALLOWED = {
    "gateway": {"gateway"},
    "he": {"he"},
    "store": {"store"},
    "keys": {"keys"},
    "ledger": {"ledger", "gateway"},
    "data": {"data", "ledger", "store", "keys"},
    "fl": {"fl", "ledger", "he", "store", "keys"},
    "admin": {"admin", "gateway", "ledger", "store"},
}


def _imports(path: Path) -> set[str]:
    """The fedfabric sub-packages a module imports (top level and inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        for name in names:
            parts = name.split(".")
            if parts[0] == "fedfabric" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_layers_below_it(package):
    root = SDK / package
    modules = sorted(root.rglob("*.py")) if root.is_dir() else [SDK / f"{package}.py"]
    assert modules
    for module in modules:
        extra = _imports(module) - ALLOWED[package]
        assert not extra, f"{module.relative_to(SDK)} imports fedfabric.{', '.join(extra)}"
