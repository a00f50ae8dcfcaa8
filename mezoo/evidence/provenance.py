"""Where a result came from: the command, the date, the git commit and the machine, written by code."""

import datetime
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

# The code that makes results: changes there, new files included, mean the commit alone does not
# reproduce them.
CODE = ("mezoo", "tfrecord_tools")

PathLike = Union[str, "os.PathLike[str]"]
# The mezoo package folder: its git checkout is the commit results name (tests point it at a throwaway one).
PACKAGE_DIR = Path(__file__).resolve().parents[1]


def git_commit(paths: Sequence[PathLike] = CODE, exclude: Sequence[PathLike] = ()) -> Optional[str]:
    """The commit of the mezoo checkout in use, `+dirty` when any of `paths` has uncommitted changes.

    Args:
        paths: relative ones are folders of the mezoo checkout (default: its code, `CODE`);
            absolute ones (a results directory) are checked in the git checkout that holds them,
            and say nothing outside one. Changed, deleted and new files count; files git ignores
            (a study's `cells/`) don't.
        exclude: files or folders that don't count: those the calling command is about to write.
    """
    root = PACKAGE_DIR
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if commit.returncode:
            return None
        top = _toplevel(root) or root
        excluded = [Path(p).resolve() for p in exclude]
        dirty = any(uncommitted(top / p if not Path(p).is_absolute() else Path(p), excluded) for p in paths)
    except OSError:
        return None
    return commit.stdout.strip() + ("+dirty" if dirty else "")


def _toplevel(directory: Path) -> Optional[Path]:
    found = subprocess.run(
        ["git", "rev-parse", "--show-toplevel"], cwd=directory, capture_output=True, text=True, timeout=10
    )
    return Path(found.stdout.strip()).resolve() if found.returncode == 0 and found.stdout.strip() else None


def uncommitted(path: PathLike, exclude: Sequence[Path] = ()) -> List[Path]:
    """The files under `path` that differ from the commit of the checkout holding it (new ones
    included, ignored ones not), less those under `exclude`; none outside a git checkout."""
    path = Path(path).resolve()
    existing = next((p for p in (path, *path.parents) if p.is_dir()), None)
    top = _toplevel(existing) if existing is not None else None
    if top is None or not path.is_relative_to(top):
        return []
    status = subprocess.run(
        ["git", "status", "--porcelain", "-z", "--untracked-files=all", "--", path.relative_to(top).as_posix() or "."],
        cwd=top,
        capture_output=True,
        timeout=60,
    )
    if status.returncode:
        return []
    entries = status.stdout.decode("utf-8", "surrogateescape").split("\0")
    changed, skip = [], False
    for entry in entries:
        if skip or not entry:
            skip = False
            continue
        skip = entry[0] in "RC"  # a rename or copy: the next entry is the old path
        file = top / entry[3:]
        if not any(file == e or file.is_relative_to(e) for e in exclude):
            changed.append(file)
    return changed


def machine() -> str:
    """CPU model, core count and OS, e.g. `Intel(R) Xeon(R) ... , 2 cores, Linux 6.1 x86_64`."""
    from mezoo.training.run_directory import cpu_model

    return f"{cpu_model()}, {os.cpu_count()} cores, {platform.system()} {platform.release()} {platform.machine()}"


def command_line(module: str, args: Optional[List[str]] = None) -> str:
    """The command as a user types it: `python -m <module> args...`.

    With `args=None` the function was called from Python, not from its command line: the result
    says so and names the calling program.
    """
    if args is None:
        return f"{module} called from Python by: {shlex.join(sys.argv)}"
    return shlex.join(["python", "-m", module, *args])


def provenance(
    module: str, args: Optional[List[str]] = None, results: Optional[PathLike] = None, writes: Sequence[PathLike] = ()
) -> Dict[str, str]:
    """`{"command", "date", "git_commit", "machine", "python", "keras", "backend"}` for a results file.

    `results`: the results directory the command reads (and writes): its uncommitted changes mark
    the commit `+dirty` too, except `writes`, the files (or folders) the command is about to write.
    """
    import keras

    paths: List[PathLike] = [*CODE, Path(results).resolve()] if results is not None else list(CODE)
    return {
        "command": command_line(module, args),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "git_commit": git_commit(paths, [Path(w).resolve() for w in writes]) or "unknown (not a git checkout)",
        "machine": machine(),
        "python": platform.python_version(),
        "keras": f"{keras.__version__} ({keras.backend.backend()} backend)",
    }


PROVENANCE_FILE = "provenance.json"


def write_provenance(directory, info: Dict[str, str]) -> Path:
    """`provenance.json` beside a command's results: what `mezoo.report` reads of where they came from."""
    import json

    from mezoo.atomic import atomic_write

    path = Path(directory) / PROVENANCE_FILE
    atomic_write(path, json.dumps(info, indent=1) + "\n")
    return path


def provenance_markdown(info: Dict[str, Any]) -> str:
    """The provenance as a Markdown list."""
    lines = [
        f"- Command: `{info['command']}`",
        f"- Date: {info['date']}",
        f"- Git commit: `{info['git_commit']}`",
        f"- Machine: {info['machine']}",
        f"- Python {info['python']}, Keras {info['keras']}",
    ]
    return "\n".join(lines) + "\n"
