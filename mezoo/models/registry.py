"""The one place a model family is registered: `@register("key")` on its class.

The decorator does all three things a family needs: it registers the class for Keras
serialization (as `mezoo>ClassName`, so saved `.keras` files load), files it under its
registry key for `get(key)` and `names()`, and marks it for export from `mezoo.models`
(whose `__init__` imports every module of the package, so a new family is one new file).
"""

from typing import Callable, Dict, List, TypeVar

import keras

ModelClass = TypeVar("ModelClass", bound=type)

_MODELS: Dict[str, type] = {}


def register(key: str) -> Callable[[ModelClass], ModelClass]:
    """Class decorator: registers a model family under `key` (and with Keras as `mezoo>Name`).

    Args:
        key: the registry key recipes and `mezoo.models.get` use, e.g. `"dcnv2"`.
    """

    def decorator(cls: ModelClass) -> ModelClass:
        if key in _MODELS and _MODELS[key] is not cls:
            raise ValueError(f"model key {key!r} is already registered to {_MODELS[key].__name__}")
        _MODELS[key] = keras.saving.register_keras_serializable(package="mezoo")(cls)
        return cls

    return decorator


def names() -> List[str]:
    """Registry keys of the models, sorted."""
    return sorted(_MODELS)


def get(key: str) -> type:
    """The model class registered under `key`."""
    try:
        return _MODELS[key]
    except KeyError:
        raise KeyError(f"unknown model {key!r}; known models: {', '.join(names())}") from None


def constructor_keys(key: str) -> List[str]:
    """The settings a recipe's `model` section may hold for family `key`: `name` and the class's
    keyword arguments (`CTRModel.arguments`: the common ones and the family's own)."""
    return ["name", *get(key).arguments()]  # type: ignore[attr-defined]


def registered() -> Dict[str, type]:
    """Every registered family, key -> class (a copy)."""
    return dict(_MODELS)
