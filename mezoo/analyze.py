"""python -m mezoo.analyze RUN_DIR [RUN_DIR ...] --out DIR: figures and a summary of finished runs.

Loads each run's `model.keras` (nothing retrains) and writes PNG figures and `summary.md` into
DIR: per-field singular-value spectra and IA / normalised IA / effective rank against random
matrices of the same shape; for multi-embedding runs, per-set and concatenated IA against a
single-embedding run of the same model and equal total width when one is among the runs; for
DCNv2, the first cross layer's field-pair block norms; and IA over epochs from
`abundance.csv`. The logic is `mezoo.evidence.analyze`.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m mezoo.analyze", description=__doc__.split("\n")[0])
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="finished mezoo.train run directories")
    parser.add_argument("--out", required=True, help="directory for the figures and summary.md")
    return parser.parse_args(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    from mezoo.evidence.analyze import analyze
    from mezoo.evidence.runs import RunDirError

    try:
        analyze(args.run_dirs, args.out, argv=argv)
    except RunDirError as error:
        raise SystemExit(f"error: {error}") from None


if __name__ == "__main__":
    main()
