"""A full disk (or quota) told apart from other write failures, so that a command names the directory.

Python's writes raise `OSError` with `ENOSPC` (`EDQUOT` for a quota); TensorFlow's file system
layer raises an `OpError` and h5py (Keras' weight files) a `RuntimeError`, whose messages hold
the C library's text (`No space left on device`), not an errno.

Example:
>>> import errno
>>> is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
True
>>> is_disk_full(RuntimeError("file write failed: errno = 28, error message = 'No space left on device'"))
True
>>> is_disk_full(OSError(errno.EACCES, "Permission denied"))
False
"""

import contextlib
import errno
import os
import shutil
from typing import Iterator, Optional

from mezoo.errors import DiskFull

DISK_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
MESSAGES = tuple(os.strerror(code) for code in DISK_FULL_ERRNOS)


def is_disk_full(error: BaseException) -> bool:
    """Whether `error`, or an error it was raised from or while handling (Beam re-raises), says the
    disk or the quota where it wrote is full."""
    seen = set()
    cause: Optional[BaseException] = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, OSError) and cause.errno in DISK_FULL_ERRNOS:
            return True
        if any(text in str(cause) for text in MESSAGES):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


@contextlib.contextmanager
def full_disk_reported(message: str) -> Iterator[None]:
    """In the block, a full disk raises `DiskFull(message)` (one line naming the directory); other
    errors pass unchanged."""
    try:
        yield
    except DiskFull:
        raise
    except Exception as error:
        if not is_disk_full(error):
            raise
        raise DiskFull(message) from None


def ensure_room(folder: "os.PathLike[str] | str", needed: int, message: str) -> None:
    """Raises `DiskFull(message)` unless `folder`'s file system has `needed` bytes free.

    For writers that must not start on a full disk: a weights file that h5py fails to finish stays
    open in the HDF5 library, which fails again on it when the process exits and crashes it.
    """
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return  # can't tell: let the write itself find out
    if free < needed:
        raise DiskFull(message)
