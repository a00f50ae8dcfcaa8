"""python -m mezoo.report RESULTS_DIR [--out FILE]: the claims page of a results directory.

Reads the tables `mezoo.toy`, `mezoo.analyze`, `mezoo.scaling` and `mezoo.parity` wrote into
RESULTS_DIR's subdirectories and writes RESULTS_DIR/README.md (or FILE): for each of the
paper's five claims a verdict computed from those numbers, the numbers, what was cut and a
figure, then the BARS parity table and every result's command. Nothing retrains; the logic
is `mezoo.evidence.report`.
"""

import sys
from typing import Any, List, Optional, Sequence

from mezoo.command import run_command
from mezoo.errors import UsageError


def define_flags(values: Any) -> None:
    from absl import flags

    flags.DEFINE_string("out", None, "the page to write (default RESULTS_DIR/README.md)", flag_values=values)


def run(values: Any, args: List[str], argv: Optional[Sequence[str]] = None) -> None:
    from mezoo.evidence.report import write_report

    if len(args) != 1:
        raise UsageError(f"give one RESULTS_DIR, got {len(args)} arguments: {' '.join(args)}")
    path = write_report(args[0], values.out, argv=list(sys.argv[1:] if argv is None else argv))
    print(f"wrote {path}")


def main(argv: Optional[Sequence[str]] = None) -> None:
    run_command(
        __doc__,
        define_flags,
        lambda values, args: run(values, args, argv),
        argv,
        positional="RESULTS_DIR",
    )


if __name__ == "__main__":
    main()
