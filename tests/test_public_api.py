"""libnet's top-level names: the three lists in ``libnet/__init__.py`` agree, and errors live
in one tree, :mod:`libnet.errors`."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import sys
from collections.abc import Iterator

import pytest

import libnet
import libnet.errors
from libnet.errors import LibnetError

SKIPPED_MODULES = frozenset({"libnet.__main__"})
"""Modules not imported by the walk: importing ``__main__`` runs the command line."""


def _init_tree() -> ast.Module:
    assert libnet.__file__ is not None
    with open(libnet.__file__) as f:
        return ast.parse(f.read(), libnet.__file__)


def _type_checking_imports(tree: ast.Module) -> dict[str, str]:
    """The names imported under ``if TYPE_CHECKING:``, and the module each comes from."""
    names = {}
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom) and stmt.module, ast.unparse(stmt)
                for alias in stmt.names:
                    names[alias.asname or alias.name] = stmt.module
    return names


def _assigned(tree: ast.Module, target: str) -> object:
    """The literal assigned to the module-level name ``target``."""
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == target for t in targets):
                assert node.value is not None
                return ast.literal_eval(node.value)
    raise AssertionError(f"libnet/__init__.py assigns no {target}")


def _homes_table(tree: ast.Module) -> dict[str, str]:
    """``_HOMES`` turned around: each public name and its home module."""
    homes = _assigned(tree, "_HOMES")
    assert isinstance(homes, dict)
    return {name: module for module, names in homes.items() for name in names}


def test_type_checking_imports_all_and_homes_agree() -> None:
    tree = _init_tree()
    imported = _type_checking_imports(tree)
    exported = _assigned(tree, "__all__")
    assert isinstance(exported, list)
    assert len(exported) == len(set(exported)), "__all__ names a name twice"
    public = set(exported) - {"__version__"}
    homes = _homes_table(tree)
    assert set(imported) == public, (
        f"only under TYPE_CHECKING: {sorted(set(imported) - public)}; "
        f"only in __all__: {sorted(public - set(imported))}"
    )
    assert set(homes) == public, (
        f"only in _HOMES: {sorted(set(homes) - public)}; "
        f"only in __all__: {sorted(public - set(homes))}"
    )
    moved = {name: (imported[name], homes[name]) for name in public}
    assert not {k: v for k, v in moved.items() if v[0] != v[1]}, "homes disagree"


@pytest.mark.parametrize("name", sorted(libnet.__all__))
def test_every_public_name_is_the_object_in_its_home(name: str) -> None:
    home = "libnet._version" if name == "__version__" else _homes_table(_init_tree())[name]
    assert getattr(libnet, name) is getattr(importlib.import_module(home), name)


def test_no_private_name_or_unknown_name_resolves() -> None:
    with pytest.raises(AttributeError):
        libnet.NoSuchName  # noqa: B018
    assert set(libnet.__all__) <= set(dir(libnet))


def _libnet_modules() -> Iterator[str]:
    """Every module of libnet, imported (skipped: those only Linux can import, elsewhere)."""
    for info in pkgutil.walk_packages(libnet.__path__, "libnet."):
        if info.name in SKIPPED_MODULES:
            continue
        try:
            importlib.import_module(info.name)
        except (ImportError, OSError):
            if sys.platform == "linux":
                raise
            continue
        yield info.name


def _libnet_errors() -> set[type[LibnetError]]:
    """Every subclass of LibnetError that a module of libnet defines."""
    list(_libnet_modules())
    found: set[type[LibnetError]] = set()
    todo = [LibnetError]
    while todo:
        cls = todo.pop()
        if cls.__module__.split(".")[0] == "libnet" and cls not in found:
            found.add(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_every_error_class_of_libnet_errors_is_exported_there() -> None:
    defined = {
        cls.__name__: cls
        for cls in vars(libnet.errors).values()
        if isinstance(cls, type) and issubclass(cls, LibnetError)
    }
    assert len(defined) > 30
    assert set(libnet.errors.__all__) == set(defined)
    assert all(getattr(libnet.errors, name) is cls for name, cls in defined.items())
    homes = {cls for cls in _libnet_errors() if cls.__module__ == "libnet.errors"}
    assert homes == set(defined.values())


def test_the_errors_a_host_application_catches_are_top_level() -> None:
    for name in ("LibnetError", "StoreBusyError", "NotFoundError", "ForbiddenError"):
        assert getattr(libnet, name) is getattr(libnet.errors, name)


def test_every_libnet_error_is_defined_in_libnet_errors() -> None:
    elsewhere = sorted(
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in _libnet_errors()
        if cls.__module__ != "libnet.errors"
    )
    assert not elsewhere, (
        "define these in libnet/errors.py (re-export them where they were): " + ", ".join(elsewhere)
    )
