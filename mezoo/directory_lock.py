"""An exclusive lock on a directory while one process writes it, and the scratch files of dead holders.

`flock` on a hidden lock file in the directory: the kernel releases it when the holder ends,
however it ends, so a killed process never leaves a stale lock. The holder writes who it is into
the file, for the message a second process gets. Because a lock held means no other writer is
alive, the holder may remove what dead writers left (`remove_stale`).

Example:
>>> with directory_lock("runs/x", "training", hint="wait for it, or pass another --run_dir"):  # doctest: +SKIP
...     ...
"""

import contextlib
import fcntl
import os
import shutil
import socket
import sys
import time
from pathlib import Path
from typing import Iterable, Iterator, List, Union

from mezoo.errors import DirectoryBusy

PathLike = Union[str, "os.PathLike[str]"]


@contextlib.contextmanager
def directory_lock(directory: PathLike, purpose: str, hint: str, name: str = ".lock") -> Iterator[Path]:
    """Holds `<directory>/<name>` exclusively for the block; `DirectoryBusy` at once if another process does.

    `purpose` says what the holder does (`training`, `an export`), `hint` what the second
    process's user can do; both go into the message. The lock file stays (removing it would let
    a process that opened it just before lock a file no one else sees).
    """
    directory = Path(directory)
    path = directory / name
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            with contextlib.suppress(OSError):
                holder = os.pread(fd, 4096, 0).decode(errors="replace").strip()
            raise DirectoryBusy(
                f"{directory} is being written by {purpose} in another process ({holder or 'holder unknown'}): {hint}"
            ) from None
        with contextlib.suppress(OSError):  # who holds it: for the message only
            os.ftruncate(fd, 0)
            started = time.strftime("%Y-%m-%d %H:%M:%S")
            os.pwrite(
                fd, f"pid {os.getpid()} on {socket.gethostname()}, since {started}: {' '.join(sys.argv)}\n".encode(), 0
            )
        yield path
    finally:
        os.close(fd)  # releases the lock


def remove_stale(directory: PathLike, patterns: Iterable[str]) -> List[str]:
    """Removes the entries of `directory` that match `patterns` (glob): scratch files of writers
    that died. Call only with the directory's lock held. Returns the names removed, sorted."""
    directory = Path(directory)
    removed = set()
    for pattern in patterns:
        for path in directory.glob(pattern):
            with contextlib.suppress(FileNotFoundError):
                shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
                removed.add(path.name)
    return sorted(removed)
