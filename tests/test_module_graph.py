"""The import graph of the project's modules: one-way dependencies, no cycles, no private names across modules.

Read from the source with `ast` (nothing is imported), every import counted: module level and
inside functions alike, since a function-level import is a dependency all the same.
"""

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mezoo", "tfrecord_tools")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def project_modules() -> Dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            modules[module_name(path)] = path
    return modules


def walk(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of `tree`, `if __name__ == "__main__":` blocks included: an entry point's import is
    an edge like any other."""
    yield from ast.walk(tree)


def imports_of(path: Path, name: str) -> Iterator[Tuple[str, List[str], int]]:
    """(imported module, names imported from it, line) of every import in a file, relative ones resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            yield base, [alias.name for alias in node.names], node.lineno


def resolve(target: str, names: List[str], modules: Dict[str, Path]) -> Set[str]:
    """The project modules an import reaches: the submodules imported from a package (`from mezoo
    import recipe` reaches mezoo.recipe), else the module itself (`import mezoo`, `from mezoo.recipe
    import load`). Importing a submodule runs its package's `__init__` too, as every import of it does:
    that is not an edge to the package."""
    found = {f"{target}.{n}" for n in names if f"{target}.{n}" in modules}
    if target in modules and (not names or any(f"{target}.{n}" not in modules for n in names)):
        found.add(target)
    return found


def graph() -> Dict[str, Set[str]]:
    modules = project_modules()
    edges: Dict[str, Set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        for target, names, _ in imports_of(path, name):
            edges[name] |= resolve(target, names, modules) - {name}
    return edges


def test_mezoo_imports_nothing_from_tfrecord_tools():
    """mezoo is the library; the converters sit on top of it (and reach it through `mezoo.data.raw`)."""
    modules = project_modules()
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for name, path in modules.items()
        if name.startswith("mezoo")
        for target, _, line in imports_of(path, name)
        if target == "tfrecord_tools" or target.startswith("tfrecord_tools.")
    ]
    assert not wrong, "\n".join(wrong)


def test_the_project_has_no_import_cycles():
    edges = graph()
    # A package's __init__ runs before any of its submodules: importing `a.b` also runs `a`. Edges
    # from a package to its own submodules are the package's API, not a cycle through it.
    cycles: List[List[str]] = []
    state: Dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: List[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if nxt.startswith(node + "."):
                continue
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_private_name_is_imported_from_another_module(package):
    modules = project_modules()
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {n} from {target}"
        for name, path in modules.items()
        if name.split(".")[0] == package
        for target, names, line in imports_of(path, name)
        if target.split(".")[0] in PACKAGES and target != name
        for n in names
        if n.startswith("_") and not n.startswith("__")
    ]
    assert not wrong, "\n".join(wrong)


def test_the_graph_sees_function_level_imports():
    """The checks above would pass on an empty graph: the scorer's parser import sits in a function."""
    assert "mezoo.data.raw.parser" in graph()["mezoo.serving.scoring"]
    assert "tfrecord_tools.convert.pipeline" in graph()["tfrecord_tools.criteo"]


# The layers of the project, bottom up: a module imports only from its own layer or the ones below
# (docs/design.md draws them). A module is in the layer of the longest prefix that names it.
LAYERS = (
    (
        "foundations",
        "mezoo.errors mezoo.atomic mezoo.strict_yaml mezoo.metrics mezoo.startup mezoo.initializers "
        "mezoo.recipe_schema mezoo.directory_lock mezoo.disk_full mezoo.command mezoo.fields mezoo.run_layout",
    ),
    ("data and layers", "mezoo.data mezoo.layers"),
    ("models", "mezoo.models mezoo.abundance mezoo.optimizers"),
    ("loading and recipes", "mezoo mezoo.saved_models mezoo.recipe mezoo.demo_model"),
    ("serving", "mezoo.serving"),
    ("training", "mezoo.training"),
    ("evidence", "mezoo.evidence"),
    (
        "converters",
        "tfrecord_tools tfrecord_tools.convert tfrecord_tools.beam_pipeline tfrecord_tools.formats "
        "tfrecord_tools.schema tfrecord_tools.common_flags tfrecord_tools.published_stats",
    ),
    (
        "commands",
        "mezoo.cli mezoo.train mezoo.evaluate mezoo.export mezoo.predict mezoo.analyze mezoo.scaling mezoo.toy "
        "mezoo.report mezoo.parity mezoo.compare mezoo.demo "
        "tfrecord_tools.criteo tfrecord_tools.avazu tfrecord_tools.csv "
        "tfrecord_tools.beam tfrecord_tools.inspect tfrecord_tools.synthetic",
    ),
)
# Siblings in one layer that must not import each other: layers know nothing of data files.
APART = (("mezoo.layers", "mezoo.data"), ("mezoo.data", "mezoo.layers"))


def layer_of(module: str) -> int:
    best, found = -1, None
    for number, (_, names) in enumerate(LAYERS):
        for prefix in names.split():
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, found = len(prefix), number
    if found is None:
        raise AssertionError(f"{module} is in no layer of tests/test_module_graph.py LAYERS: place it")
    return found


def test_every_import_goes_down_the_layers():
    edges = graph()
    up = [
        f"{a} ({LAYERS[layer_of(a)][0]}) imports {b} ({LAYERS[layer_of(b)][0]})"
        for a in sorted(edges)
        for b in sorted(edges[a])
        if layer_of(b) > layer_of(a)
    ]
    apart = [
        f"{a} imports {b}"
        for a in sorted(edges)
        for b in sorted(edges[a])
        for low, high in APART
        if (a == low or a.startswith(low + ".")) and (b == high or b.startswith(high + "."))
    ]
    assert not up and not apart, "\n".join(up + apart)


def test_no_library_or_converter_module_imports_the_command_modules():
    """mezoo.cli is the command layer: entry points and console scripts run it, nothing else imports it."""
    edges = graph()
    commands = set(LAYERS[-1][1].split())
    wrong = [
        f"{a} imports {b}"
        for a in sorted(edges)
        if not any(a == c or a.startswith(c + ".") for c in commands)
        for b in sorted(edges[a])
        if b == "mezoo.cli" or b.startswith("mezoo.cli.")
    ]
    assert not wrong, "\n".join(wrong)


def test_the_entry_points_are_only_entry_points():
    """`python -m mezoo.<command>` modules hold a docstring and a `__main__` block calling the CLI."""
    for name in LAYERS[-1][1].split():
        if not name.startswith("mezoo.") or name == "mezoo.cli":
            continue
        tree = ast.parse((ROOT / (name.replace(".", "/") + ".py")).read_text())
        body = [node for node in tree.body if not isinstance(node, ast.Expr)]  # the docstring
        assert len(body) == 1 and isinstance(body[0], ast.If), f"{name} holds more than its entry point"
