"""python -m mezoo.parity RUN_DIR [RUN_DIR ...] --out DIR: finished Frappe_x1 runs against BARS.

Each RUN_DIR is a finished single-embedding `mezoo.train` run of one family's `*_se_frappe`
recipe on the real Frappe_x1. Writes DIR/parity.md and DIR/parity.csv: per family BARS'
published test AUC, the run's, the gap and whether it is within 0.003, with each run's
command and the provenance. Families without a run are listed as not run. Nothing retrains;
the logic is `mezoo.evidence.parity`.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m mezoo.parity", description=__doc__.split("\n")[0])
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="finished single-embedding Frappe_x1 runs")
    parser.add_argument("--out", required=True, help="directory for parity.md and parity.csv")
    return parser.parse_args(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    from mezoo.evidence.parity import write_parity
    from mezoo.evidence.runs import RunDirError

    try:
        paths = write_parity(args.run_dirs, args.out, argv=argv)
    except (RunDirError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None
    print(paths["md"].read_text())


if __name__ == "__main__":
    main()
