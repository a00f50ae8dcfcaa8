"""python -m mezoo.scaling: the SE / ME scaling study, resumable and shareable across processes.

    python -m mezoo.scaling --recipe dcnv2_se_frappe --scales 1,2,4,10 --seeds 3 [--data DIR] --out DIR
                            [--ablations] [--ensembles] [--data_fractions 0.25,0.5,1] [--permute_train_labels]
                            [--set section.key=value ...]
                            [--max_cells N] [--stale_after_s 1800]

For each scale N: SE (one table of width N*d) and ME (N sets of width d), plus ME-SI (one
shared interaction module; DCNv2) with --ablations, each for every seed and training-data
fraction; with --ensembles ENS (the average of N SE 1x runs, its members: SE 1x seeds 3 on,
trained as any cell; the ENS cell is assembled once they are finished). Every cell is a
`mezoo.train` run in DIR/cells/<cell>/; finished cells are never
retrained, interrupted ones resume. Several processes or machines may run the same command
on a shared DIR at once: each cell is locked atomically (DIR/claims/). At the end each
process writes DIR/scaling.csv, scaling.md, auc_vs_scale.png and ia_vs_scale.png from every
finished cell. The logic is `mezoo.evidence.scaling`.
"""

import sys
from pathlib import Path
from typing import Any, List, Optional, Sequence

from mezoo.command import run_command
from mezoo.errors import UsageError


def define_flags(values: Any) -> None:
    from absl import flags

    flags.DEFINE_string("recipe", None, "recipe name or YAML file; its embedding_dim is d", flag_values=values)
    flags.DEFINE_list("scales", ["1", "2", "4", "10"], "comma-separated scales N", flag_values=values)
    flags.DEFINE_integer("seeds", 3, "seeds per cell", lower_bound=1, flag_values=values)
    flags.DEFINE_string("data", None, "converted data directory (default: the recipe's)", flag_values=values)
    flags.DEFINE_string("out", None, "study directory (shared by all processes of the study)", flag_values=values)
    flags.DEFINE_bool("ablations", False, "add ME-SI cells (shared interaction; DCNv2)", flag_values=values)
    flags.DEFINE_bool(
        "permute_train_labels",
        False,
        "the null study: every cell trains on the training split with its labels permuted (seed 0)",
        flag_values=values,
    )
    flags.DEFINE_bool(
        "ensembles",
        False,
        "add ENS cells (the average of N SE 1x runs at each scale N > 1) and the SE 1x seeds that are their members",
        flag_values=values,
    )
    flags.DEFINE_list("data_fractions", ["1"], "fractions of the training split, e.g. 0.25,0.5,1", flag_values=values)
    flags.DEFINE_multi_string("set", [], "recipe override for every cell (repeatable)", flag_values=values)
    flags.DEFINE_integer(
        "max_cells", None, "train at most this many cells, then report", lower_bound=0, flag_values=values
    )
    flags.DEFINE_float(
        "stale_after_s",
        1800.0,
        "take over a cell's lock whose owner has not shown a heartbeat for this long (seconds)",
        lower_bound=1.0,
        flag_values=values,
    )
    flags.mark_flag_as_required("recipe", flag_values=values)
    flags.mark_flag_as_required("out", flag_values=values)


def parse_numbers(values: Any):
    """(scales, fractions) from the flags, checked: integers >= 1, fractions in (0, 1]."""
    try:
        scales = [int(v) for v in values.scales if v.strip()]
        fractions = [float(v) for v in values.data_fractions if v.strip()]
    except ValueError:
        raise UsageError(
            f"--scales must be integers and --data_fractions numbers; got {','.join(values.scales)!r}, "
            f"{','.join(values.data_fractions)!r}"
        ) from None
    if not scales or min(scales) < 1:
        raise UsageError(f"--scales must be >= 1, got {scales}")
    if not fractions or not all(0 < f <= 1 for f in fractions):
        raise UsageError(f"--data_fractions must lie in (0, 1], got {fractions}")
    return scales, fractions


def run(values: Any, args: List[str], argv: Optional[Sequence[str]] = None):
    from mezoo.evidence.scaling import run_study

    scales, fractions = parse_numbers(values)
    out = Path(values.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a study directory")
    return run_study(
        values.recipe,
        scales,
        values.seeds,
        out,
        data=values.data,
        overrides=values.set,
        ablations=values.ablations,
        fractions=fractions,
        max_cells=values.max_cells,
        stale_after_s=values.stale_after_s,
        permuted_labels=values.permute_train_labels,
        ensembles=values.ensembles,
        argv=list(sys.argv[1:] if argv is None else argv),
    )


def main(argv: Optional[Sequence[str]] = None) -> None:
    run_command(__doc__, define_flags, lambda values, args: run(values, args, argv), argv)


if __name__ == "__main__":
    main()
