"""The layers of libnet stay apart: no import cycles, no reaching into a Controller's privates.

Both checks read the source with :mod:`ast` and import nothing, so they see imports inside
functions too, and they are themselves tested on small synthetic trees below.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import libnet

ROOT = Path(libnet.__file__).resolve().parent

CONTROLLER_NAMES = frozenset({"c", "ctl", "controller", "_c", "_controller"})
"""Names and attributes that hold a Controller by the project's convention."""

Graph = dict[str, dict[str, list[str]]]
"""module -> {imported module -> ["file:line", ...]}"""


# -- the source tree -----------------------------------------------------------------------


def _modules(root: Path) -> dict[str, Path]:
    """Every module below the package directory ``root``, by dotted name."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    """``if TYPE_CHECKING:`` or ``if typing.TYPE_CHECKING:``."""
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement, at any depth, except in the body of ``if TYPE_CHECKING:``."""
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


# -- import cycles -------------------------------------------------------------------------


def import_graph(root: Path) -> Graph:
    """The modules each module below ``root`` imports at run time, with where it does.

    ``from pkg import name`` is an edge to ``pkg.name`` when that is a module, else to
    ``pkg``; importing a package is an edge to its ``__init__`` (the node ``pkg``). A
    module's parent packages are not added: only the imports written count.
    """
    modules = _modules(root)
    graph: Graph = {name: {} for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        package = name if is_package else name.rpartition(".")[0]
        where = path.relative_to(root.parent)
        for node in _runtime_imports(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in modules else base)
            for target in targets:
                if target in modules and target != name:
                    graph[name].setdefault(target, []).append(f"{where}:{node.lineno}")
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = []
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        work.append((start, iter(sorted(graph[start]))))
        while work:
            node, successors = work[-1]
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = len(index)
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph[succ]))))
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return sorted(found)


def describe_cycles(graph: Graph) -> list[str]:
    """One paragraph per cycle: its modules, then each import that keeps it closed."""
    texts = []
    for component in cycles(graph):
        members = set(component)
        lines = [f"import cycle among {len(component)} modules: {', '.join(component)}"]
        for module in component:
            for target, places in sorted(graph[module].items()):
                if target in members:
                    places = sorted(places, key=lambda p: int(p.rpartition(":")[2]))
                    lines.append(f"    {module} -> {target} ({', '.join(places)})")
        texts.append("\n".join(lines))
    return texts


# -- reaching into a Controller ------------------------------------------------------------


def _is_private(attr: str) -> bool:
    return attr.startswith("_") and not (attr.startswith("__") and attr.endswith("__"))


def _holds_controller(node: ast.expr, annotated: frozenset[str]) -> bool:
    if isinstance(node, ast.Name):
        return node.id in CONTROLLER_NAMES or node.id in annotated
    return isinstance(node, ast.Attribute) and node.attr in CONTROLLER_NAMES


def _controller_params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[set[str], set[str]]:
    """The parameters of ``fn`` annotated as Controller, and all its parameter names."""
    args = fn.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    every += [a for a in (args.vararg, args.kwarg) if a is not None]
    typed = set()
    for arg in every:
        if arg.annotation is not None:
            text = ast.unparse(arg.annotation)
            if re.search(r"\bController\b", text):
                typed.add(arg.arg)
    return typed, {arg.arg for arg in every}


def _reach_ins(node: ast.AST, annotated: frozenset[str]) -> Iterator[ast.Attribute]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        typed, params = _controller_params(node)
        annotated = frozenset((annotated - params) | typed)
    if (
        isinstance(node, ast.Attribute)
        and _is_private(node.attr)
        and _holds_controller(node.value, annotated)
    ):
        yield node
    for child in ast.iter_child_nodes(node):
        yield from _reach_ins(child, annotated)


def controller_reach_ins(root: Path, allowed: frozenset[str]) -> list[str]:
    """``file:line: expression`` for each private attribute of a Controller read or set.

    A Controller is a name or attribute called ``c``, ``ctl``, ``controller``, ``_c`` or
    ``_controller``, or a parameter annotated as ``Controller``. ``allowed`` lists the
    modules (dotted names) that may: the controller's own.
    """
    found = []
    for name, path in _modules(root).items():
        if name in allowed:
            continue
        where = path.relative_to(root.parent)
        tree = ast.parse(path.read_text(), str(path))
        for node in _reach_ins(tree, frozenset()):
            found.append(f"{where}:{node.lineno}: {ast.unparse(node)}")
    return found


# -- libnet itself -------------------------------------------------------------------------


def test_libnet_has_no_import_cycle() -> None:
    found = describe_cycles(import_graph(ROOT))
    assert not found, "\n\n".join(found)


LAYERS: tuple[tuple[str, ...], ...] = (
    ("libnet.cli", "libnet.__main__"),
    ("libnet.testing",),
    ("libnet.dockerplugin.server", "libnet.plugin", "libnet.cni"),
    ("libnet.controller",),
    ("libnet.network", "libnet.sandbox"),
    ("libnet.reconcile",),
    ("libnet._runtime",),
    (
        "libnet._addressing",
        "libnet._publish",
        "libnet._sandboxes",
        "libnet._state",
        "libnet._records",
        "libnet._journal",
        "libnet._intents",
    ),
    ("libnet._operation",),
    ("libnet.agent",),
    ("libnet.drivers", "libnet.ipam.remote"),
    ("libnet.nodes",),
    ("libnet.dockerplugin",),
    ("libnet.hookspecs",),
    ("libnet.ipam", "libnet.osl", "libnet.store"),
    ("libnet.store.etcd", "libnet.store.scoped"),
    ("libnet.store.etcdheld",),
    ("libnet.store.etcdlock",),
    ("libnet.store.etcdwatch",),
    ("libnet.store._etcdgw",),
    ("libnet.store.view",),
    ("libnet.store.watch",),
    ("libnet.store._guarded",),
    ("libnet.store._api", "libnet.store.etcdurl", "libnet.store.hostid"),
    ("libnet.store._locks",),
    ("libnet.store.lock",),
    ("libnet._resolver", "libnet.registry"),
    ("libnet._calls",),
    ("libnet._checks",),
    (
        "libnet.driverapi",
        "libnet._contract",
        "libnet._output",
        "libnet.errors",
        "libnet.labels",
        "libnet.portmap",
    ),
    ("libnet", "libnet._lazy", "libnet._version"),
)
"""ARCHITECTURE.md's layer list, top first: a module belongs to the longest prefix named."""


def layer_of(module: str, layers: tuple[tuple[str, ...], ...] = LAYERS) -> int | None:
    """The index of the layer ``module`` belongs to, or None if no layer names it."""
    best: tuple[int, int] | None = None
    for index, prefixes in enumerate(layers):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (
                best is None or len(prefix) > best[1]
            ):
                best = (index, len(prefix))
    return None if best is None else best[0]


def upward_imports(graph: Graph, layers: tuple[tuple[str, ...], ...] = LAYERS) -> list[str]:
    """Imports from a module to one in a higher layer, and modules in no layer."""
    found = []
    for module, targets in sorted(graph.items()):
        here = layer_of(module, layers)
        if here is None:
            found.append(f"{module} is in no layer: add it to LAYERS and to ARCHITECTURE.md")
            continue
        for target, where in sorted(targets.items()):
            there = layer_of(target, layers)
            if there is not None and there < here:
                found.append(f"{module} imports {target}, a higher layer ({', '.join(where)})")
    return found


def test_imports_point_down_the_layers() -> None:
    found = upward_imports(import_graph(ROOT))
    assert not found, "\n".join(found)


def test_an_upward_import_and_an_unplaced_module_are_reported(tmp_path: Path) -> None:
    graph = _graph(
        tmp_path,
        {"top.py": "", "low.py": "from pkg import top\n", "stray.py": ""},
    )
    found = upward_imports(graph, (("pkg.top",), ("pkg.low",)))
    assert any(line.startswith("pkg.low imports pkg.top") for line in found)
    assert any(line.startswith("pkg.stray is in no layer") for line in found)
    downward = _graph(tmp_path / "ok", {"top.py": "from pkg import low\n", "low.py": ""})
    assert not upward_imports(downward, (("pkg.top",), ("pkg.low",), ("pkg",)))


def test_only_the_controller_touches_its_private_attributes() -> None:
    found = controller_reach_ins(ROOT, frozenset({"libnet.controller"}))
    assert not found, (
        "modules reach into a Controller's private attributes; use or add a public method:\n"
        + "\n".join(found)
    )


def test_the_testing_kit_uses_only_the_controllers_public_interface() -> None:
    found = controller_reach_ins(ROOT / "testing", frozenset())
    assert not found, "\n".join(found)


# -- the checkers themselves ---------------------------------------------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    """Write a package ``pkg`` of ``files`` (relative path -> source) under ``tmp_path``."""
    root = tmp_path / "pkg"
    for rel, text in {"__init__.py": "", **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _graph(tmp_path: Path, files: dict[str, str]) -> Graph:
    return import_graph(_tree(tmp_path, files))


def test_a_cycle_closed_by_a_function_level_import_is_found(tmp_path: Path) -> None:
    graph = _graph(
        tmp_path,
        {
            "a.py": "from pkg import b\n",
            "b.py": "def f():\n    from . import a\n    return a\n",
            "c.py": "import pkg.a\n",
        },
    )
    assert cycles(graph) == [["pkg.a", "pkg.b"]]
    (text,) = describe_cycles(graph)
    assert "pkg.a, pkg.b" in text and "pkg.b -> pkg.a (pkg/b.py:2)" in text


def test_an_import_only_for_type_checking_closes_no_cycle(tmp_path: Path) -> None:
    graph = _graph(
        tmp_path,
        {
            "a.py": "from pkg.b import B\n",
            "b.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n"
                "    from pkg.a import A\n"
                "else:\n"
                "    import pkg.c\n"
                "class B: ...\n"
            ),
            "c.py": "",
        },
    )
    assert cycles(graph) == []
    assert set(graph["pkg.b"]) == {"pkg.c"}


def test_imports_resolve_to_modules_and_packages(tmp_path: Path) -> None:
    graph = _graph(
        tmp_path,
        {
            "sub/__init__.py": "from . import inner\nfrom .inner import X\n",
            "sub/inner.py": "from .. import top\nfrom ..sub import Y\nX = Y = 1\n",
            "top.py": "import pkg.sub\n",
        },
    )
    assert set(graph["pkg.sub"]) == {"pkg.sub.inner"}
    assert set(graph["pkg.sub.inner"]) == {"pkg.top", "pkg.sub"}
    assert set(graph["pkg.top"]) == {"pkg.sub"}
    assert cycles(graph) == [["pkg.sub", "pkg.sub.inner", "pkg.top"]]


def test_reaching_into_a_controller_is_flagged_and_own_privates_are_not(
    tmp_path: Path,
) -> None:
    root = _tree(
        tmp_path,
        {
            "user.py": (
                "def f(c, obj, ctl2: 'Controller | None'):\n"
                "    c._op()\n"
                "    obj._c._read()\n"
                "    ctl2._store\n"
                "    c.__class__\n"
                "    c.public()\n"
                "class Holder:\n"
                "    def g(self):\n"
                "        with self._lock:\n"
                "            return self.network._controller._op\n"
            ),
            "controller.py": "def h(c):\n    return c._op\n",
        },
    )
    found = controller_reach_ins(root, frozenset({"pkg.controller"}))
    assert found == [
        "pkg/user.py:2: c._op",
        "pkg/user.py:3: obj._c._read",
        "pkg/user.py:4: ctl2._store",
        "pkg/user.py:10: self.network._controller._op",
    ]
