"""What a command does before TensorFlow loads, however it runs.

A command runs as a console script (`mezoo-train`, `tfrecord-csv`, ...: `CONSOLE_SCRIPTS`) or
as `python -m mezoo.<name>` / `python -m tfrecord_tools.<name>`; `command_module` recognises
each form from the interpreter's command line, so all take the one path below:

- TensorFlow's C++ start-up logs (CUDA and TensorRT probes, "Unable to register cuDNN
  factory", `OUT_OF_RANGE: End of sequence` at the end of every tf.data pass) are hidden:
  `TF_CPP_MIN_LOG_LEVEL=3` unless the variable is set already or `MEZOO_DEBUG=1`. Failures
  still reach the user as Python exceptions, which the commands print as one `error:` line.
- `--help` answers without importing TensorFlow at all (`help_only`).

- C++ log lines that TF_CPP_MIN_LOG_LEVEL does not reach (XLA's start-up, newer TensorFlows'
  import lines) are filtered out of stderr (`filter_native_logs`).

Only for commands: importing mezoo as a library changes nothing in the caller's process.
"""

import atexit
import os
import re
import sys
import threading
from typing import List, Optional, Sequence, Tuple

HELP_FLAGS = ("--help", "-h", "-?", "--helpshort", "--helpfull", "--helpxml")
PACKAGES = ("mezoo.", "tfrecord_tools.")

# pyproject.toml's [project.scripts], script -> module (tests/test_console_scripts.py keeps them equal).
CONSOLE_SCRIPTS = {
    "mezoo-train": "mezoo.cli.train",
    "mezoo-evaluate": "mezoo.cli.evaluate",
    "mezoo-export": "mezoo.cli.export",
    "mezoo-predict": "mezoo.cli.predict",
    "mezoo-analyze": "mezoo.cli.analyze",
    "mezoo-scaling": "mezoo.cli.scaling",
    "mezoo-toy": "mezoo.cli.toy",
    "mezoo-report": "mezoo.cli.report",
    "mezoo-parity": "mezoo.cli.parity",
    "mezoo-compare": "mezoo.cli.compare",
    "mezoo-demo": "mezoo.cli.demo",
    "tfrecord-criteo": "tfrecord_tools.criteo",
    "tfrecord-avazu": "tfrecord_tools.avazu",
    "tfrecord-csv": "tfrecord_tools.csv",
    "tfrecord-inspect": "tfrecord_tools.inspect",
    "tfrecord-synthetic": "tfrecord_tools.synthetic",
    "tfrecord-beam": "tfrecord_tools.beam",
}
# The launchers pip writes on Windows run `<name>.exe` (older pip: `<name>-script.py`).
SCRIPT_SUFFIXES = re.compile(r"(?:-script\.pyw?|\.exe)$", re.IGNORECASE)


def _program(argv: Sequence[str]) -> Tuple[Optional[str], Optional[str], List[str]]:
    """What the interpreter command line `argv` runs: (module of `-m`, script path, its arguments).

    Skips the interpreter's own options, clustered (`-Bm mod`, `-Wd`) or with a separate value
    (`-X importtime`); `-c` and stdin run neither a module nor a script.
    """
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg == "--check-hash-based-pycs":
            i += 2
            continue
        if arg == "--":
            i += 1
            break
        if not arg.startswith("-") or arg == "-":
            break
        for j, letter in enumerate(arg[1:] if not arg.startswith("--") else ""):
            if letter in "mcWX":
                value = arg[j + 2 :]
                if not value:
                    i += 1
                    value = argv[i] if i < len(argv) else ""
                if letter == "m":
                    return value, None, list(argv[i + 1 :])
                if letter == "c":
                    return None, None, []
                break
        i += 1
    if i >= len(argv) or argv[i] == "-":
        return None, None, []
    return None, argv[i], list(argv[i + 1 :])


def command_module(argv=None) -> Optional[str]:
    """The mezoo command this process runs, a console script's or `python -m`'s module; else None.

    `argv`: the interpreter's command line, `sys.orig_argv` by default.
    """
    module, script, _ = _program(list(getattr(sys, "orig_argv", []) if argv is None else argv))
    if module is not None:
        return module if module.startswith(PACKAGES) else None
    if script is not None:
        name = SCRIPT_SUFFIXES.sub("", re.split(r"[\\/]", script)[-1])
        return CONSOLE_SCRIPTS.get(name)
    return None


def help_only(argv=None) -> bool:
    """Whether this process is a mezoo command asked only for its help."""
    argv = list(getattr(sys, "orig_argv", []) if argv is None else argv)
    return command_module(argv) is not None and any(a in HELP_FLAGS for a in _program(argv)[2])


def quiet_tensorflow(argv=None) -> None:
    """In a command's process (and without MEZOO_DEBUG=1): TF's own logs hidden, native noise filtered."""
    if command_module(argv) is not None and os.environ.get("MEZOO_DEBUG", "") in ("", "0"):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        filter_native_logs()


# C++ log lines in absl's format that TF_CPP_MIN_LOG_LEVEL does not reach: XLA's start-up
# ("XLA service ... initialized", "Compiled cluster using XLA!") and newer TensorFlows' import
# lines, all at INFO or WARNING, plus absl's note that they go to stderr before its initialisation.
NATIVE_NOISE = re.compile(
    rb"^(?:[IW]\d{4} \d\d:\d\d:[\d.]+ +\d+ [\w./+-]+:\d+\] "
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR)"
)
_filtering = False


def filter_native_logs() -> None:
    """Drops `NATIVE_NOISE` lines from this process's stderr (file descriptor 2); all else passes.

    fd 2 becomes a pipe read by a thread that forwards every other line to the original
    stderr, and an unfinished line at once unless it starts with `I` or `W` (as a noise line
    does), so a progress bar redrawn with carriage returns keeps working; at exit fd 2 is
    restored and the pipe drained. Only for a command's own process (`quiet_tensorflow`).
    """
    global _filtering
    if _filtering:
        return
    _filtering = True
    original = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)

    def forward(data: bytes) -> None:
        while data:
            data = data[os.write(original, data) :]

    def pump() -> None:
        pending = b""
        while True:
            chunk = os.read(read_end, 65536)
            if not chunk:
                break
            *lines, pending = (pending + chunk).split(b"\n")
            kept = [line + b"\n" for line in lines if not NATIVE_NOISE.match(line)]
            if pending and pending[:1] not in (b"I", b"W"):  # can't become a noise line: out now
                kept.append(pending)
                pending = b""
            forward(b"".join(kept))
        if pending and not NATIVE_NOISE.match(pending):
            forward(pending)
        os.close(read_end)

    thread = threading.Thread(target=pump, name="mezoo-stderr-filter", daemon=True)
    thread.start()

    def restore() -> None:
        try:
            sys.stderr.flush()
        except Exception:  # stderr closed or broken: nothing to flush
            pass
        os.dup2(original, 2)  # the pipe's last write end closes: the thread sees the end
        thread.join(timeout=5)

    atexit.register(restore)
