"""What a command (`python -m mezoo.train`, `python -m tfrecord_tools.csv`, ...) does before TensorFlow loads.

- TensorFlow's C++ start-up logs (CUDA and TensorRT probes, "Unable to register cuDNN
  factory", `OUT_OF_RANGE: End of sequence` at the end of every tf.data pass) are hidden:
  `TF_CPP_MIN_LOG_LEVEL=3` unless the variable is set already or `MEZOO_DEBUG=1`. Failures
  still reach the user as Python exceptions, which the commands print as one `error:` line.
- `--help` answers without importing TensorFlow at all (`help_only`).

Only for commands: importing mezoo as a library changes nothing in the caller's process.
"""

import os
import sys
from typing import Optional

HELP_FLAGS = ("--help", "-h", "-?", "--helpshort", "--helpfull", "--helpxml")
PACKAGES = ("mezoo.", "tfrecord_tools.")


def command_module(argv=None) -> Optional[str]:
    """The module run with `python -m`, when it is one of mezoo's commands; else None."""
    argv = list(getattr(sys, "orig_argv", []) if argv is None else argv)
    for i, arg in enumerate(argv[:-1]):
        if arg == "-m":
            module = argv[i + 1]
            return module if module.startswith(PACKAGES) else None
    return None


def help_only(argv=None) -> bool:
    """Whether this process is a mezoo command asked only for its help."""
    argv = list(getattr(sys, "orig_argv", []) if argv is None else argv)
    return command_module(argv) is not None and any(a in HELP_FLAGS for a in argv)


def quiet_tensorflow(argv=None) -> None:
    if command_module(argv) is not None and os.environ.get("MEZOO_DEBUG", "") in ("", "0"):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
