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


def is_main_block(node: ast.AST) -> bool:
    """`if __name__ == "__main__":`: its imports run only when the file is the script (module `__main__`)."""
    test = getattr(node, "test", None)
    return (
        isinstance(node, ast.If)
        and isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )


def walk(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of `tree`, `__main__` blocks left out (a command module's script entry point)."""
    for child in ast.iter_child_nodes(tree):
        if not is_main_block(child):
            yield child
            yield from walk(child)


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
    """The project modules an import reaches: the module itself, or the submodules imported from a package."""
    found = {target} if target in modules else set()
    found |= {f"{target}.{n}" for n in names if f"{target}.{n}" in modules}
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
