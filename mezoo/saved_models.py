"""Loading a saved `.keras` model with an error that says what is wrong with the file."""

import zipfile
from pathlib import Path
from typing import Any


class ModelFileError(ValueError):
    """A `.keras` file that is missing, damaged or truncated, or that can't be loaded."""


def load_keras_file(path, compile: bool = True) -> Any:
    """`keras.models.load_model(path)` after `import mezoo` (which registers the zoo's classes).

    Keras reports a truncated `.keras` archive as "File not found" for a file that exists; this
    says the file is damaged instead.
    """
    import keras

    import mezoo  # noqa: F401 - registers the zoo's layers, models and optimisers

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
