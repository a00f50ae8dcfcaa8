"""No test module imports another: shared helpers live in modules that are not test modules.

A helper taken from a test module drags that module's tests, fixtures and skips into the importer
(pytest then also collects any `test_*` name it imports), and moving a test breaks a stranger's
import. Helpers belong in `tests/<package>/helpers.py`, `family_cases.py`, `conftest.py`,
`tests/layer_testing.py`, `tests/cli_testing.py` and the like. Read with `ast`: nothing is imported.
"""

import ast
from pathlib import Path
from typing import Iterator, Tuple

TESTS = Path(__file__).resolve().parent


def is_test_module(dotted: str) -> bool:
    return dotted.rpartition(".")[2].startswith("test_")


def imports_of_test_modules(source: str) -> Iterator[Tuple[int, str]]:
    """(line, what) of every import in `source` of a test module or of a `test_*` name."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if any(part.startswith("test_") for part in alias.name.split(".")):
                    yield node.lineno, f"import {alias.name}"
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            if is_test_module(module):
                yield node.lineno, f"from {module} import ..."
            for alias in node.names:
                if alias.name.startswith("test_"):
                    yield node.lineno, f"from {module} import {alias.name}"


def test_the_check_finds_each_form_of_importing_a_test_module():
    source = (
        "from tests.models.test_models import batch\n"
        "import tests.serving.test_skew\n"
        "def f():\n"
        "    from .test_bad_input import row\n"
        "from tests.training import test_cli\n"
        "from tests.models.family_cases import batch\n"
    )
    assert sorted(line for line, _ in imports_of_test_modules(source)) == [1, 2, 4, 5]


def test_no_module_under_tests_imports_a_test_module():
    found = [
        f"{path.relative_to(TESTS.parent)}:{line}: {what}"
        for path in sorted(TESTS.rglob("*.py"))
        for line, what in imports_of_test_modules(path.read_text(encoding="utf-8"))
    ]
    assert not found, "move the helpers these import into a module that is not a test module:\n" + "\n".join(found)
