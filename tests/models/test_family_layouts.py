"""Every family keeps its arguments, config and variable paths: saved `.keras` files keep loading.

The expectations are `family_layouts.json`, written by `tests/models/family_cases.py` from the
families as they were before the common arguments moved into `CTRModel` (issue 32).
"""

import inspect
import json

import pytest

from mezoo import models
from mezoo.models import registry
from tests.models import family_cases

PINNED = json.loads(family_cases.LAYOUTS.read_text())


def test_the_pinned_table_covers_every_family_and_case():
    assert sorted(PINNED["constructor_keys"]) == models.names()
    assert sorted(PINNED["cases"]) == sorted(family_cases.cases())


@pytest.mark.parametrize("key", models.names())
def test_a_family_keeps_its_keyword_arguments_and_defaults(key):
    assert sorted(registry.constructor_keys(key)) == sorted(PINNED["constructor_keys"][key])
    now = family_cases.defaults(key)
    # Every setting a recipe may give is a keyword argument with a default, the pinned ones unchanged.
    assert sorted(now) == sorted(k for k in PINNED["constructor_keys"][key] if k != "name")
    assert {k: now[k] for k in PINNED["defaults"][key]} == PINNED["defaults"][key]


@pytest.mark.parametrize("name", sorted(family_cases.cases()))
def test_a_model_keeps_its_config_and_variable_paths(name):
    expected = PINNED["cases"][name]
    got = family_cases.layout(family_cases.build(name))
    assert got["config"] == expected["config"]
    assert got["variables"] == expected["variables"]


def test_a_model_is_called_with_its_inputs_not_its_constructor_arguments():
    # The class shows its constructor's signature (help, recipes); an instance, a callable
    # (tf.function(model), say), keeps its __call__'s.
    model = family_cases.build("dnn_1")
    assert "fields" in inspect.signature(type(model)).parameters
    assert "fields" not in inspect.signature(model).parameters
