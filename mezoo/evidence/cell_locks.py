"""Atomic locks on the cells of a study shared by several processes or machines.

A cell is locked by creating `<locks dir>/<key>.<generation>.claim` with `O_CREAT | O_EXCL`,
which the file system grants to exactly one creator (also on NFS v3+ and most shared file
systems; not on eventually consistent object stores). The file holds the owner as JSON
(host, pid, user, start time) and its modification time is a heartbeat: the owner touches it
every `heartbeat_s` seconds while it works.

A lock is stale when its owner ran on this host and that process no longer exists, or when
its heartbeat is older than `stale_after_s` (a machine that died). A stale lock is taken over
by creating the next generation, `<key>.<generation + 1>.claim`, again with `O_EXCL`: of
several processes that find the same stale lock, exactly one wins, and nothing is ever
deleted, so no process can remove a lock another has just made. The new owner resumes the
cell's run from its backup (`mezoo.train` is resumable).

On disk the locks keep the names older code gave them, a study's `claims/` directory
(`LOCKS_DIR`) and the `.claim` suffix: processes of older and newer code share live studies
(the evidence queue, several machines on one OUT), and a lock only excludes the processes that
look for it under the same name; `docs/results/.gitignore` ignores `claims/` too.

Example:
>>> lock = try_lock(Path("study") / LOCKS_DIR, "me_x2_seed0")  # doctest: +SKIP
>>> if lock: ...; lock.release()  # doctest: +SKIP
"""

import datetime
import getpass
import json
import os
import re
import socket
import threading
import time
from pathlib import Path
from typing import Dict, Optional

LOCKS_DIR = "claims"  # a study's directory of cell locks (the module docstring says why the name)
SUFFIX = ".claim"
DEFAULT_STALE_AFTER_S = 1800.0
DEFAULT_HEARTBEAT_S = 60.0


def owner_record() -> Dict:
    """Who locks: host, pid, user, thread and start time."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in some containers
        user = None
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "thread": threading.get_ident(),
        "user": user,
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _generations(locks_dir: Path, key: str):
    pattern = re.compile(re.escape(key) + r"\.(\d+)" + re.escape(SUFFIX) + "$")
    found = []
    for path in locks_dir.glob(f"{key}.*{SUFFIX}"):
        match = pattern.match(path.name)
        if match:
            found.append((int(match.group(1)), path))
    return sorted(found)


def read_owner(path: Path) -> Optional[Dict]:
    """The owner record of a lock file (None while it is being written or if unreadable)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def is_stale(path: Path, stale_after_s: float = DEFAULT_STALE_AFTER_S, now: Optional[float] = None) -> bool:
    """Whether the lock's owner is gone: a dead process on this host, or no heartbeat for `stale_after_s`."""
    now = time.time() if now is None else now
    try:
        age = now - path.stat().st_mtime
    except FileNotFoundError:
        return True
    if age > stale_after_s:
        return True
    owner = read_owner(path)
    if owner and owner.get("host") == socket.gethostname() and isinstance(owner.get("pid"), int):
        return not _pid_alive(owner["pid"])
    return False


class CellLock:
    """A held lock: a heartbeat thread keeps its file's mtime fresh until `release`.

    Args:
        path: the lock file, already created by `try_lock`.
        heartbeat_s: seconds between touches of the file.

    Example:
    >>> with try_lock(Path("study") / LOCKS_DIR, "se_x1_seed0") as lock:  # doctest: +SKIP
    ...     train_the_cell()
    """

    def __init__(self, path: Path, heartbeat_s: float = DEFAULT_HEARTBEAT_S):
        self.path = path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, args=(heartbeat_s,), daemon=True, name=f"lock {path.name}")
        self._thread.start()

    def _beat(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                os.utime(self.path)
            except OSError:
                return

    def release(self) -> None:
        """Stops the heartbeat. The file stays: a finished cell is known by its results, not its lock."""
        self._stop.set()
        self._thread.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


def try_lock(
    locks_dir, key: str, stale_after_s: float = DEFAULT_STALE_AFTER_S, heartbeat_s: float = DEFAULT_HEARTBEAT_S
) -> Optional[CellLock]:
    """Locks `key` if nobody holds it (or its holder is stale); None if another owner holds it."""
    locks_dir = Path(locks_dir)
    locks_dir.mkdir(parents=True, exist_ok=True)
    generations = _generations(locks_dir, key)
    if generations:
        generation, latest = generations[-1]
        if not is_stale(latest, stale_after_s):
            return None
        generation += 1
    else:
        generation = 0
    path = locks_dir / f"{key}.{generation}{SUFFIX}"
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return None  # another process locked (or took over) this cell first
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(owner_record()))
    return CellLock(path, heartbeat_s)


def holder(locks_dir, key: str) -> Optional[Dict]:
    """The owner record of the latest lock on `key` (None if unlocked)."""
    generations = _generations(Path(locks_dir), key)
    return read_owner(generations[-1][1]) if generations else None
