"""python -m mezoo.compare BASE OTHER --out DIR: two scaling studies of the same cells, compared cell for cell.

BASE and OTHER are `mezoo.scaling` study directories trained with one setting changed (for
example `--set train.mixed_precision=mixed_bfloat16`). For each variant and scale both trained,
on the seeds both have: the test AUC of OTHER minus BASE with its 95% interval over seeds and
test rows (a paired bootstrap of the kept predictions), its minimum detectable effect, and a
verdict against --margin (equivalent, differs, undecided); the IA ratio beside it. Writes
DIR/comparison.md and DIR/comparison.csv. Nothing retrains; the logic is `mezoo.evidence.compare`.
"""

import sys
from typing import Any, List, Optional, Sequence

from mezoo.command import run_command
from mezoo.errors import UsageError


def define_flags(values: Any) -> None:
    from absl import flags

    flags.DEFINE_string("out", None, "directory for comparison.md and comparison.csv", flag_values=values)
    flags.mark_flag_as_required("out", flag_values=values)
    flags.DEFINE_float(
        "margin",
        0.001,
        "equivalence margin on the test AUC difference (BARS' tolerance for a reproduction)",
        lower_bound=0.0,
        flag_values=values,
    )
    flags.DEFINE_list(
        "data", [], "converted data directories whose test labels the predictions were scored on", flag_values=values
    )


def run(values: Any, args: List[str], argv: Optional[Sequence[str]] = None) -> None:
    from mezoo.evidence.compare import write_comparison

    if len(args) != 2:
        raise UsageError(f"give BASE and OTHER study directories, got {len(args)} arguments: {' '.join(args)}")
    argv = list(sys.argv[1:] if argv is None else argv)
    paths = write_comparison(args[0], args[1], values.out, values.margin, values.data, argv=argv)
    print(paths["md"].read_text())


def main(argv: Optional[Sequence[str]] = None) -> None:
    run_command(
        __doc__,
        define_flags,
        lambda values, args: run(values, args, argv),
        argv,
        positional="BASE OTHER",
    )


if __name__ == "__main__":
    main()
