"""The `tensorflow` marker selects the JAX suite: `pytest -m "not tensorflow" tests` in the JAX environment.

A test module that needs TensorFlow says so twice, and this test keeps the two in step: it skips
where TensorFlow is missing (`pytest.importorskip("tensorflow")` at module level, before any
import that needs it) and carries `pytestmark = pytest.mark.tensorflow`, so that
`-m "not tensorflow"` selects the backend-agnostic tests in any environment (the skip at import
still reports such a module where TensorFlow is missing). Every other module must pass on the JAX
backend without TensorFlow, which `make test-jax` checks over the whole tree.
"""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def skips_without_tensorflow(tree: ast.Module) -> bool:
    for node in tree.body:
        value = node.value if isinstance(node, (ast.Assign, ast.Expr)) else None
        if (
            isinstance(value, ast.Call)
            and getattr(value.func, "attr", None) == "importorskip"
            and value.args
            and isinstance(value.args[0], ast.Constant)
            and value.args[0].value == "tensorflow"
        ):
            return True
    return False


def marked_tensorflow(tree: ast.Module) -> bool:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "pytestmark" for t in node.targets):
            return "mark.tensorflow" in ast.unparse(node.value)
    return False


def test_modules_that_skip_without_tensorflow_carry_the_marker_and_no_others():
    wrong = []
    for path in sorted(TESTS.rglob("test_*.py")):
        tree = ast.parse(path.read_text(), str(path))
        skips, marked = skips_without_tensorflow(tree), marked_tensorflow(tree)
        if skips != marked:
            what = "skips without TensorFlow but is not marked" if skips else "is marked but does not skip"
            wrong.append(f"{path.relative_to(TESTS.parent)} {what}")
    assert not wrong, "\n".join(wrong)


def test_the_marker_is_registered(pytestconfig):
    assert any(line.startswith("tensorflow:") for line in pytestconfig.getini("markers"))


def test_the_check_sees_a_marked_module_and_an_unmarked_one():
    """Guards the check itself: it would pass on a tree where it recognised nothing."""
    tree = ast.parse('import pytest\ntf = pytest.importorskip("tensorflow")\npytestmark = pytest.mark.tensorflow\n')
    assert skips_without_tensorflow(tree) and marked_tensorflow(tree)
    assert not skips_without_tensorflow(ast.parse(Path(__file__).read_text()))
