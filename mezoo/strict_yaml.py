"""YAML as mezoo reads it (recipes, schemas): `safe_load`, but a key given twice in one mapping is an error.

PyYAML keeps the last of two equal keys without a word (`train:` twice: the first section is
lost), so a recipe or schema would silently mean something else than it says.

Example:
>>> load("a: 1\\nb: 2\\n")
{'a': 1, 'b': 2}
>>> load("train: {epochs: 1}\\ntrain: {epochs: 2}\\n")
Traceback (most recent call last):
...
mezoo.strict_yaml.DuplicateKeyError: line 2: key 'train' is given twice in one mapping (first on line 1)
"""

import re
from typing import Any

import yaml

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")


class DuplicateKeyError(yaml.YAMLError):
    """A mapping that names one key twice."""


class _UniqueKeyLoader(yaml.SafeLoader):
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)  # type: ignore[no-untyped-call]
            line = key_node.start_mark.line + 1
            try:
                if key in seen:
                    raise DuplicateKeyError(
                        f"line {line}: key {shown_key(key)} is given twice in one mapping (first on line {seen[key]})"
                    )
                seen[key] = line
            except TypeError:  # an unhashable key: PyYAML's own error follows
                break
        return super().construct_mapping(node, deep=deep)


def load(text: str) -> Any:
    """`yaml.safe_load(text)`, refusing a mapping with a repeated key (`DuplicateKeyError`, a `yaml.YAMLError`)."""
    return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass


def shown_key(key: Any) -> str:
    """A key for an error message: quoted where it could be a setting's name, else not shown, so that an
    error about a file that is no recipe or schema (a path given by mistake) never prints its contents."""
    return repr(key) if isinstance(key, str) and IDENTIFIER.fullmatch(key) else "(a key that is no setting name)"


def problem(error: yaml.YAMLError) -> str:
    """What is wrong with a YAML text and where, without the text of the line (PyYAML's message quotes it)."""
    mark = getattr(error, "problem_mark", None)
    if isinstance(error, yaml.MarkedYAMLError) and mark is not None:
        return f"{error.problem or 'a syntax error'} at line {mark.line + 1}, column {mark.column + 1}"
    return str(error).splitlines()[0] if str(error) else type(error).__name__
