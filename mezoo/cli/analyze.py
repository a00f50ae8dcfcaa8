"""python -m mezoo.analyze RUN_DIR [RUN_DIR ...] --out DIR: figures and a summary of finished runs.

Loads each run's `model.keras` (nothing retrains) and writes PNG figures and `summary.md` into
DIR: per-field singular-value spectra and IA / normalised IA / effective rank against random
matrices of the same shape; for multi-embedding runs, per-set and concatenated IA against a
single-embedding run of the same model and equal total width when one is among the runs; for
DCNv2, the first cross layer's field-pair block norms; and IA over epochs from
`abundance.csv`. The logic is `mezoo.evidence.analyze`.
"""

import sys
from typing import Any, List, Optional, Sequence

from mezoo.command import run_command
from mezoo.errors import UsageError


def define_flags(values: Any) -> None:
    from absl import flags

    flags.DEFINE_string("out", None, "directory for the figures and summary.md", flag_values=values)
    flags.mark_flag_as_required("out", flag_values=values)


def run(values: Any, run_dirs: List[str], argv: Optional[Sequence[str]] = None) -> None:
    from mezoo.evidence.analyze import analyze

    if not run_dirs:
        raise UsageError("give at least one RUN_DIR (a finished mezoo.train run directory)")
    analyze(run_dirs, values.out, argv=list(sys.argv[1:] if argv is None else argv))


def main(argv: Optional[Sequence[str]] = None) -> None:
    run_command(__doc__, define_flags, lambda values, args: run(values, args, argv), argv, positional="RUN_DIR ...")


if __name__ == "__main__":
    main()
