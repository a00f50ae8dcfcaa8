"""The output directory: its lock, the scratch directory a run writes into, the install, the files besides shards.

Safety: a run holds an exclusive lock on the output directory (a second run on it stops at
once, naming the holder) and writes everything, scratch files included, into its own hidden
scratch directory inside the output. Only when the conversion has succeeded is it installed:
the old spec is removed first, the old conversion's files next, the new files are moved in
and the new spec comes last, so a directory with a spec is always one complete conversion
and a failed rerun leaves the previous one untouched. The Beam converter stages and installs
the same way over any file system (`tfrecord_tools.beam`), and both write the files besides
the shards through `conversion_files`.
"""

import contextlib
import fcntl
import json
import os
import shutil
import socket
import sys
import time
from typing import Dict, List, Sequence, Tuple

from mezoo.data.feature_spec import SPEC_NAME
from mezoo.data.raw.reader import InputError
from mezoo.disk_full import full_disk_reported
from tfrecord_tools.convert.errors import ConversionError
from tfrecord_tools.convert.records import SHARD_NAME
from tfrecord_tools.convert.vocabularies import FieldVocabulary

LOCK_NAME = ".convert.lock"
SCRATCH_PREFIX = ".convert-"
# what a conversion writes, besides its shards; the spec goes last (installed) and first (removed)
CONVERSION_FILES = ("rejects.tsv", "summary.json")


def check_output(output: str) -> None:
    try:
        os.makedirs(output, exist_ok=True)
        probe = os.path.join(output, ".write-test")
        with open(probe, "w") as f:
            f.write("ok")
        os.remove(probe)
    except OSError as e:
        raise InputError(f"output directory is not writable: {output} ({e.strerror or e})") from e


@contextlib.contextmanager
def output_lock(output: str):
    """An exclusive lock on the output directory for the whole conversion.

    `flock` on `<output>/.convert.lock`: released by the kernel when the process ends, however
    it ends, so a killed run never leaves a stale lock. The holder writes who it is into the
    file, for a second run's message, and removes the file when done (a run that opened the
    file just before that finds its inode gone and opens the path again).
    """
    path = os.path.join(output, LOCK_NAME)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            try:
                with open(path, errors="replace") as f:
                    holder = f.read().strip() or "another process"
            except FileNotFoundError:
                continue  # released meanwhile
            raise ConversionError(
                f"output directory {output} is being written by another conversion ({holder}); "
                "wait for it to finish, or choose another --output"
            ) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(
            fd,
            f"pid {os.getpid()} on {socket.gethostname()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}, "
            f"command: {' '.join(sys.argv)}\n".encode(),
        )
        yield
    finally:
        with contextlib.suppress(OSError):
            os.remove(path)
        os.close(fd)  # releases the lock


def disk_full_named(output: str):
    """Turns a full disk while converting into `DiskFull` naming the output directory (one `error:` line)."""
    return full_disk_reported(
        f"no space left on the device of the output directory {output} while converting: free space there "
        "or choose another --output (a conversion already there is unchanged)"
    )


def remove_leftovers(output: str) -> List[str]:
    """Scratch files of runs that died (call with the lock held: no other run is alive); the names removed."""
    removed = []
    for name in sorted(os.listdir(output)):
        path = os.path.join(output, name)
        if name.startswith(SCRATCH_PREFIX) or (SHARD_NAME.match(name[:-4]) and name.endswith(".tmp")):
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
            removed.append(name)
    return removed


def install(scratch: str, output: str) -> None:
    """Replaces the conversion in `output` by the finished one in `scratch`.

    The old spec goes first, so that from then on the directory is no conversion until the new
    spec, moved in last, makes it the new one. Only a conversion's own files are touched.
    """
    spec = os.path.join(output, SPEC_NAME)
    if os.path.exists(spec):
        os.remove(spec)
    for name in os.listdir(output):
        path = os.path.join(output, name)
        if SHARD_NAME.match(name) or name in CONVERSION_FILES:
            os.remove(path)
        elif name == "vocab" and os.path.isdir(path):
            shutil.rmtree(path)
    for name in sorted(os.listdir(scratch)):
        if name != SPEC_NAME:
            os.replace(os.path.join(scratch, name), os.path.join(output, name))
    os.replace(os.path.join(scratch, SPEC_NAME), spec)


def conversion_files(vocabularies: Sequence[FieldVocabulary], summary: Dict, spec: Dict) -> List[Tuple[str, bytes]]:
    """The files a conversion writes besides its shards and rejects, relative to its directory, in
    the order they are written: each field's vocabulary, summary.json, then feature_spec.json last.
    The spec is validated as `mezoo.data` reads it first."""
    from mezoo.data.feature_spec import FeatureSpec, vocabulary_bytes, vocabulary_path

    spec = FeatureSpec(spec).to_dict()  # raises on a spec mezoo.data would refuse
    files = [(vocabulary_path(v.name), vocabulary_bytes(v.tokens)) for v in vocabularies]
    files.append(("summary.json", (json.dumps(summary, indent=1) + "\n").encode()))
    files.append((SPEC_NAME, (json.dumps(spec, indent=1) + "\n").encode()))
    return files


def write_local(directory: str, files: Sequence[Tuple[str, bytes]]) -> None:
    """`conversion_files` into a local directory, each file written whole (`mezoo.atomic`)."""
    from mezoo.atomic import atomic_write

    for relative, data in files:
        path = os.path.join(directory, *relative.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic_write(path, data, fsync=False)
