"""mezoo: a Keras 3 model zoo for CTR prediction built on multi-embedding.

Importing `mezoo` registers every layer, model and optimizer with Keras' serialization, so
`keras.models.load_model("model.keras")` needs no `custom_objects` (a trained run's model
is saved compiled, with mezoo's optimizer). TensorFlow is not needed for `mezoo.layers`,
`mezoo.models` or `mezoo.abundance`.
"""

__version__ = "0.1.0"

from mezoo import startup as _startup

_startup.quiet_tensorflow()  # only for commands: console scripts, `python -m mezoo.*` / `tfrecord_tools.*`
if not _startup.help_only():  # a command's --help needs no TensorFlow
    # registers the layers, models and optimizers (none of these imports TensorFlow)
    from mezoo import initializers, layers, models, optimizers  # noqa: F401
