"""Files replaced whole: written under a name private to the process and thread, flushed to disk, then renamed.

A reader (or a process killed mid-write) never sees half a file, and concurrent writers of one
path never interleave: each writes its own temporary file and the last rename wins whole.

Example:
>>> atomic_write("metrics.json", '{"finished": true}')  # doctest: +SKIP
>>> with atomic_open("predictions.npz", "wb") as handle:  # doctest: +SKIP
...     numpy.savez_compressed(handle, probability=scores)
"""

import contextlib
import os
import threading
from pathlib import Path
from typing import IO, Any, Iterator, Union

PathLike = Union[str, "os.PathLike[str]"]


def temporary_name(path: PathLike) -> Path:
    """A name beside `path` private to this process and thread (hidden, so globs of the folder skip it)."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.partial")


@contextlib.contextmanager
def atomic_open(path: PathLike, mode: str = "w", fsync: bool = True, **kwargs: Any) -> Iterator[IO[Any]]:
    """A file opened for writing that replaces `path` when the block ends without an error.

    On an error the temporary file is removed and `path` is left as it was.
    """
    if not any(flag in mode for flag in "wx"):
        raise ValueError(f"atomic_open writes a whole file: mode must be 'w' or 'wb', got {mode!r}")
    partial = temporary_name(path)
    try:
        with open(partial, mode.replace("x", "w"), **kwargs) as handle:
            yield handle
            handle.flush()
            if fsync:
                os.fsync(handle.fileno())
        os.replace(partial, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise


def atomic_write(path: PathLike, data: Union[str, bytes], fsync: bool = True) -> None:
    """Writes `data` (text as UTF-8, or bytes) to `path` atomically."""
    if isinstance(data, bytes):
        with atomic_open(path, "wb", fsync=fsync) as handle:
            handle.write(data)
    else:
        with atomic_open(path, "w", fsync=fsync, encoding="utf-8") as handle:
            handle.write(data)
