"""Where a result came from: the command, the date, the git commit and the machine, written by code."""

import datetime
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import mezoo


def git_commit() -> Optional[str]:
    """The commit of the mezoo checkout in use, `+dirty` when its code has uncommitted changes."""
    root = Path(mezoo.__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if commit.returncode:
            return None
        # The code that makes results is mezoo/ (and tfrecord_tools/): changes there, new files
        # included, mean the commit alone does not reproduce them. Results written elsewhere
        # (docs/results) don't count.
        top = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], cwd=root, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "mezoo", "tfrecord_tools"],
            cwd=top or root,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except OSError:
        return None
    return commit.stdout.strip() + ("+dirty" if dirty else "")


def machine() -> str:
    """CPU model, core count and OS, e.g. `Intel(R) Xeon(R) ... , 2 cores, Linux 6.1 x86_64`."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()} {platform.machine()}"


def command_line(module: str, args: Optional[List[str]] = None) -> str:
    """The command as a user types it: `python -m <module> args...`.

    With `args=None` the function was called from Python, not from its command line: the result
    says so and names the calling program.
    """
    if args is None:
        return f"{module} called from Python by: {shlex.join(sys.argv)}"
    return shlex.join(["python", "-m", module, *args])


def provenance(module: str, args: Optional[List[str]] = None) -> Dict[str, str]:
    """`{"command", "date", "git_commit", "machine", "python", "keras", "backend"}` for a results file."""
    import keras

    return {
        "command": command_line(module, args),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "git_commit": git_commit() or "unknown (not a git checkout)",
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
