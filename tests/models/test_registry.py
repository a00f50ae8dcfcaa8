"""`@register(key)` is the one registration point: Keras name, registry key and export."""

import keras
import pytest

from mezoo import models
from mezoo.models import registry


def test_every_family_is_registered_exported_and_keras_serializable():
    assert models.names() == sorted(registry.registered())
    for key in models.names():
        cls = models.get(key)
        assert getattr(models, cls.__name__) is cls and cls.__name__ in models.__all__
        assert keras.saving.get_registered_name(cls) == f"mezoo>{cls.__name__}"  # saved .keras files still load
        assert keras.saving.get_registered_object(f"mezoo>{cls.__name__}") is cls


def test_a_key_cannot_be_registered_twice():
    with pytest.raises(ValueError, match="already registered"):
        registry.register("dnn")(type("Other", (models.CTRModel,), {}))


def test_unknown_key_names_the_known_ones():
    with pytest.raises(KeyError, match="known models: autoint_plus"):
        models.get("nope")
