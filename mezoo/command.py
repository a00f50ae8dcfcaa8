"""How every mezoo and tfrecord_tools command runs: its own flags, one call into the library, and on
failure one `error: ...` line, not a traceback (`run_command`).

Exit status:

- 0: done;
- 1: an unexpected failure (a bug, or the machine): `error: <type>: <message>`;
- 2: the input is wrong (a recipe, a flag, a schema, an input or data file, a run directory): any
  `mezoo.errors.BadInput`, whose message names the file, line or key;
- 130: interrupted (Ctrl-C).

`--verbose` (where the tool has it) or `MEZOO_DEBUG=1` shows the traceback as well. The commands
themselves are the modules of `mezoo.cli` and the `tfrecord_tools` converters; nothing else imports
them.
"""

import os
import sys
import traceback
from typing import Any, Callable, List, Optional, Sequence

from mezoo.errors import BadInput

EXIT_FAILURE, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 1, 2, 130


def debugging(verbose: bool = False) -> bool:
    return bool(verbose) or os.environ.get("MEZOO_DEBUG", "") not in ("", "0")


def run_cli(fn: Callable[[], object], verbose: bool = False):
    """Runs `fn`; on an exception prints `error: ...` to stderr and exits with the status above: 2 for a
    `mezoo.errors.BadInput` (its message alone tells the user what to fix), 1 for anything else."""
    try:
        return fn()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr, flush=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as error:  # every failure becomes one readable line
        if debugging(verbose):
            traceback.print_exc()
        message = str(error) or type(error).__name__
        if isinstance(error, BadInput):
            print(f"error: {message}", file=sys.stderr, flush=True)
            sys.exit(EXIT_BAD_INPUT)
        hint = "" if debugging(verbose) else " (--verbose or MEZOO_DEBUG=1 shows the traceback)"
        print(f"error: {type(error).__name__}: {message}{hint}", file=sys.stderr, flush=True)
        sys.exit(EXIT_FAILURE)


HELP_FLAGS = ("--help", "-h", "-?", "--helpshort", "--helpfull")


def run_command(
    doc: str,
    define_flags: Callable[[Any], None],
    body: Callable[[Any, List[str]], object],
    argv: Optional[Sequence[str]] = None,
    program: Optional[str] = None,
    positional: Optional[str] = None,
    known_only: bool = False,
) -> object:
    """Every command's `main`: its own absl flags, parsed, then `body(flags, positional args)`.

    Each call defines the command's flags on a fresh `absl.flags.FlagValues` (nothing global:
    commands import side by side, and a test can run one several times in one process).
    `--help` prints `doc` and the flags; a bad, missing or unknown flag is one `error:` line
    and exit status 2; `body`'s failures are reported by `run_cli` (`--verbose` adds the
    traceback). `argv` excludes the program name (default `sys.argv[1:]`); `positional` names
    the positional arguments in the help (e.g. `RUN_DIR ...`), and without it any is an error.
    `known_only`: flags the command does not define are handed to `body` with the positional
    arguments (the Beam converter passes them on as pipeline options).
    """
    from absl import flags

    values = flags.FlagValues()
    define_flags(values)
    _file_main_flags_by_module_name(values)
    if "verbose" not in values:
        flags.DEFINE_bool(
            "verbose", False, "on an error, show the traceback too (also MEZOO_DEBUG=1)", flag_values=values
        )
    args = list(sys.argv[1:] if argv is None else argv)
    name = program or (doc.split(":", 1)[0].strip() if doc.startswith("python -m") else "the command")
    if any(a in HELP_FLAGS for a in args):
        print(doc.rstrip() + "\n\nflags:\n" + values.get_help(include_special_flags=False), flush=True)
        sys.exit(0)
    try:
        rest = values([name, *args], known_only=known_only)[1:]
    except flags.Error as error:
        print(f"error: {error} (--help lists the flags)", file=sys.stderr, flush=True)
        sys.exit(EXIT_BAD_INPUT)
    if rest and positional is None and not known_only:
        print(f"error: unexpected arguments: {' '.join(rest)} (--help lists the flags)", file=sys.stderr, flush=True)
        sys.exit(EXIT_BAD_INPUT)
    return run_cli(lambda: body(values, rest), verbose=values.verbose)


def _file_main_flags_by_module_name(values: Any) -> None:
    """Under `python -m tfrecord_tools.csv` absl files the flags that module defines under the
    script's path (`sys.argv[0]`), first in `--help`; its console script, under the module's name.
    The module's name in both: `--help` reads the same however the command runs."""
    spec = getattr(sys.modules.get("__main__"), "__spec__", None)
    by_module = values.flags_by_module_dict()
    if spec is not None and sys.argv[0] in by_module:
        by_module.setdefault(spec.name, []).extend(by_module.pop(sys.argv[0]))
