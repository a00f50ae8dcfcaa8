"""Loading a saved `.keras` model with an error that says what is wrong with the file."""

import zipfile
from pathlib import Path
from typing import Any

from mezoo.errors import BadInput


class ModelFileError(BadInput, ValueError):
    """A `.keras` file that is missing, damaged or truncated, or that can't be loaded."""


def load_keras_file(path, compile: bool = True) -> Any:
    """`keras.models.load_model(path)` with the zoo's classes registered (layers, models, optimizers).

    Keras reports a truncated `.keras` archive as "File not found" for a file that exists; this
    says the file is damaged instead.
    """
    import keras

    from mezoo import initializers, layers, models, optimizers  # noqa: F401 - registers the zoo's classes

    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"{path} does not exist: is {path.parent} a finished mezoo.train run?")
    if not zipfile.is_zipfile(path):
        raise ModelFileError(
            f"{path} is damaged or truncated ({path.stat().st_size:,} bytes, not a .keras archive): "
            "train again, or restore the file"
        )
    try:
        return keras.models.load_model(path, compile=compile)
    except (OSError, ValueError, TypeError, zipfile.BadZipFile, EOFError) as error:
        raise ModelFileError(
            f"{path} can't be loaded (damaged, or saved by an incompatible version): {error}"
        ) from None
