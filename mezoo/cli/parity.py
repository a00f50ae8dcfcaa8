"""python -m mezoo.parity RUN_DIR [RUN_DIR ...] --out DIR: finished Frappe_x1 runs against BARS.

Each RUN_DIR is a finished single-embedding `mezoo.train` run of one family's `*_se_frappe`
recipe on the real Frappe_x1 (one per seed; parity is called on 3 or more). Writes DIR/parity.md
and DIR/parity.csv: per family BARS' published test AUC (the mean of its runs, or its single
figure), mezoo's mean over its seeds, the 95% interval of the difference and whether it lies
within BARS' own tolerance of 0.001, with each run's command and the provenance. Families
without a run are listed as not run. Nothing retrains; the logic is `mezoo.evidence.parity`.
"""

import sys
from typing import Any, List, Optional, Sequence

from mezoo.command import run_command
from mezoo.errors import UsageError


def define_flags(values: Any) -> None:
    from absl import flags

    flags.DEFINE_string("out", None, "directory for parity.md and parity.csv", flag_values=values)
    flags.mark_flag_as_required("out", flag_values=values)


def run(values: Any, run_dirs: List[str], argv: Optional[Sequence[str]] = None) -> None:
    from mezoo.evidence.parity import write_parity

    if not run_dirs:
        raise UsageError("give at least one RUN_DIR (a finished single-embedding Frappe_x1 run)")
    paths = write_parity(run_dirs, values.out, argv=list(sys.argv[1:] if argv is None else argv))
    print(paths["md"].read_text())


def main(argv: Optional[Sequence[str]] = None) -> None:
    run_command(
        __doc__,
        define_flags,
        lambda values, args: run(values, args, argv),
        argv,
        positional="RUN_DIR ...",
    )


if __name__ == "__main__":
    main()
