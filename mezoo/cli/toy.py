"""python -m mezoo.toy: the interaction-collapse toy (docs/method.md §5 claim 2), one command.

    python -m mezoo.toy [--dim 50] [--seeds 3] [--steps 5000] [--out toy_results]

Trains only E1 of a 3-field FM (D1 = D2 = 100, D3 = 3 and D3 = 100, E2/E3 frozen, N(0, 1)
tables, random labels, full-batch SGD with learning rate 1), prints IA(E1) as it trains, and
writes `toy.csv` (IA, normalised IA and effective rank of E1 every `--record_every` steps),
`toy.png` (IA(E1) against step for both D3, mean and min-max band over seeds) and `README.md`
(the final figures, claim 2's verdict by `mezoo.evidence.rules` with how many seeds kept the
paper's ordering, and the command, date, commit and machine). The logic is
`mezoo.evidence.toy_study` (the runs, `--jobs`, `--resume`) and `mezoo.evidence.toy` (one run).

`--jobs N` trains N runs at once, each in its own process with one thread.

`--resume` keeps every run already in `--out`'s `toy.csv` (made with the same width, steps,
learning rate and record interval, read from the `provenance.json` beside it; other settings are
refused) and trains only this command's runs that are not there. Runs outside this command's
`--seeds` or `--d3` stay too: `toy.csv` keeps the earlier rows as they were, first, and the new
runs follow. `toy.csv` and `provenance.json` are rewritten after each run, so an interrupted
command resumes where it stopped. `provenance.json` names the command, date and commit of every
kept run.
"""

import math
import shlex
import sys
from typing import TYPE_CHECKING, Any, List, Optional, Sequence

from mezoo.command import run_command
from mezoo.errors import UsageError

if TYPE_CHECKING:
    from mezoo.evidence.toy_study import ToySettings

DEFAULT_DIM = 50


def define_flags(values: Any) -> None:
    from absl import flags

    flags.DEFINE_integer(
        "dim",
        DEFAULT_DIM,
        f"embedding width K (the paper does not give it; default {DEFAULT_DIM}, docs/method.md)",
        lower_bound=1,
        flag_values=values,
    )
    flags.DEFINE_integer("seeds", 3, "number of seeds (0 .. seeds-1)", lower_bound=1, flag_values=values)
    flags.DEFINE_integer("steps", 5000, "full-batch SGD steps (the paper: 5000)", lower_bound=1, flag_values=values)
    flags.DEFINE_list("d3", ["3", "100"], "comma-separated values of D3 (the paper: 3,100)", flag_values=values)
    flags.DEFINE_float(
        "learning_rate", 1.0, "SGD learning rate, a finite number > 0 (the paper: 1)", flag_values=values
    )
    flags.DEFINE_integer("record_every", 50, "measure IA(E1) every this many steps", lower_bound=1, flag_values=values)
    flags.DEFINE_integer("print_every", 1000, "print IA(E1) every this many steps", lower_bound=1, flag_values=values)
    flags.DEFINE_string("out", "toy_results", "directory for toy.csv, toy.png and README.md", flag_values=values)
    flags.DEFINE_integer(
        "jobs",
        1,
        "runs trained at once, each a process with one thread (the results are the same runs as with 1)",
        lower_bound=1,
        flag_values=values,
    )
    flags.DEFINE_bool(
        "resume",
        False,
        "keep the runs already in --out/toy.csv made with the same settings, train only the others",
        flag_values=values,
    )


def settings(values: Any) -> "ToySettings":
    """The flags checked: D3 values as integers >= 1, a finite learning rate > 0."""
    from mezoo.evidence.toy_study import ToySettings

    try:
        d3 = [int(v) for v in values.d3 if v.strip()]
    except ValueError:
        raise UsageError(f"--d3 must be comma-separated integers, got {','.join(values.d3)!r}") from None
    if not d3 or min(d3) < 1:
        raise UsageError(f"every --d3 value must be >= 1, got {d3}")
    if not math.isfinite(values.learning_rate) or values.learning_rate <= 0:
        raise UsageError(f"--learning_rate must be a finite number > 0, got {values.learning_rate}")
    names = ("dim", "seeds", "steps", "learning_rate", "record_every", "print_every", "out", "resume", "jobs")
    return ToySettings(d3_values=d3, **{name: getattr(values, name) for name in names})


def settings_of_command(command: str) -> "ToySettings":
    """The settings of an earlier `python -m mezoo.toy ...` command line, defaults filled in (for `--resume`)."""
    from absl import flags

    words = shlex.split(command)
    if words[:3] != ["python", "-m", "mezoo.toy"]:
        raise UsageError(f"--resume: the earlier results were not written by python -m mezoo.toy: {command!r}")
    values = flags.FlagValues()
    define_flags(values)
    values(["mezoo.toy", *words[3:]])
    return settings(values)


def run(values: Any, args: List[str], argv: Optional[Sequence[str]] = None) -> None:
    from mezoo.evidence.toy_study import run_toy_study

    run_toy_study(settings(values), list(sys.argv[1:] if argv is None else argv), settings_of_command)


def main(argv: Optional[Sequence[str]] = None) -> None:
    run_command(__doc__, define_flags, lambda values, args: run(values, args, argv), argv)


if __name__ == "__main__":
    main()
