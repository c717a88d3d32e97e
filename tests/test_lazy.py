"""Packages that re-export lazily (``libnet._lazy.Exports``): the three lists of each agree,
every name resolves to the object of its home module, and importing the package alone
imports none of them."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import libnet

ROOT = Path(libnet.__file__).parent


def _lazy_packages() -> list[str]:
    return sorted(
        ".".join(("libnet", *init.parent.relative_to(ROOT).parts))
        for init in ROOT.rglob("__init__.py")
        if "Exports(" in init.read_text()
    )


PACKAGES = _lazy_packages()


def _type_checking_imports(package: str) -> dict[str, str]:
    """The names the package imports under ``if TYPE_CHECKING:``, each with its module."""
    module = importlib.import_module(package)
    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text())
    names = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom) and stmt.module, ast.unparse(stmt)
                names.update({alias.asname or alias.name: stmt.module for alias in stmt.names})
    return names


def test_the_lazy_packages_are_found() -> None:
    assert {"libnet.ipam", "libnet.osl", "libnet.store"} <= set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_type_checking_imports_exports_and_all_agree(package: str) -> None:
    module = importlib.import_module(package)
    imported = _type_checking_imports(package)
    assert imported == module._exports.home
    assert sorted(imported) == sorted(module.__all__)
    for name, home in imported.items():
        assert getattr(module, name) is getattr(importlib.import_module(home), name)
    with pytest.raises(AttributeError, match="no attribute 'nosuch'"):
        module.nosuch  # noqa: B018


@pytest.mark.slow
@pytest.mark.parametrize("package", PACKAGES)
def test_importing_the_package_imports_none_of_its_modules(package: str) -> None:
    code = f"import sys, {package}\nprint([m for m in sys.modules if m.startswith('{package}.')])"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
