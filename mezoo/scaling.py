"""python -m mezoo.scaling: the SE / ME scaling study, resumable and shareable across processes.

    python -m mezoo.scaling --recipe dcnv2_se_frappe --scales 1,2,4,10 --seeds 3 [--data DIR] --out DIR
                            [--ablations] [--data_fractions 0.25,0.5,1] [--set section.key=value ...]
                            [--max_cells N] [--stale_after_s 1800]

For each scale N: SE (one table of width N*d) and ME (N sets of width d), plus ME-SI (one
shared interaction module; DCNv2) with --ablations, each for every seed and training-data
fraction. Every cell is a `mezoo.train` run in DIR/cells/<cell>/; finished cells are never
retrained, interrupted ones resume. Several processes or machines may run the same command
on a shared DIR at once: each cell is claimed atomically (DIR/claims/). At the end each
process writes DIR/scaling.csv, scaling.md, auc_vs_scale.png and ia_vs_scale.png from every
finished cell. The logic is `mezoo.evidence.scaling`.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _ints(text):
    return [int(v) for v in text.split(",") if v.strip()]


def _floats(text):
    return [float(v) for v in text.split(",") if v.strip()]


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m mezoo.scaling", description=__doc__.split("\n")[0])
    parser.add_argument("--recipe", required=True, help="recipe name or YAML file; its embedding_dim is d")
    parser.add_argument("--scales", default="1,2,4,10", help="comma-separated scales N (default 1,2,4,10)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per cell (default 3)")
    parser.add_argument("--data", default=None, help="converted data directory (default: the recipe's)")
    parser.add_argument("--out", required=True, help="study directory (shared by all processes of the study)")
    parser.add_argument("--ablations", action="store_true", help="add ME-SI cells (shared interaction; DCNv2)")
    parser.add_argument("--data_fractions", default="1", help="fractions of the training split, e.g. 0.25,0.5,1")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="section.key=value",
        help="recipe override for every cell (repeatable)",
    )
    parser.add_argument("--max_cells", type=int, default=None, help="train at most this many cells, then report")
    parser.add_argument(
        "--stale_after_s",
        type=float,
        default=1800.0,
        help="take over a claim whose owner has not shown a heartbeat for this long (seconds)",
    )
    args = parser.parse_args(argv)
    try:
        args.scale_list, args.fraction_list = _ints(args.scales), _floats(args.data_fractions)
    except ValueError:
        parser.error(
            f"--scales must be integers and --data_fractions numbers; got {args.scales!r}, {args.data_fractions!r}"
        )
    if not args.scale_list or min(args.scale_list) < 1 or args.seeds < 1:
        parser.error("--scales must be >= 1 and --seeds >= 1")
    if not args.fraction_list or not all(0 < f <= 1 for f in args.fraction_list):
        parser.error(f"--data_fractions must lie in (0, 1], got {args.data_fractions!r}")
    return args


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    from mezoo import recipe as recipes
    from mezoo.evidence.scaling import run_study

    try:
        run_study(
            args.recipe,
            args.scale_list,
            args.seeds,
            args.out,
            data=args.data,
            overrides=args.set,
            ablations=args.ablations,
            fractions=args.fraction_list,
            max_cells=args.max_cells,
            stale_after_s=args.stale_after_s,
            argv=argv,
        )
    except (recipes.RecipeError, ValueError, FileNotFoundError) as error:
        raise SystemExit(f"error: {error}") from None


if __name__ == "__main__":
    main()
