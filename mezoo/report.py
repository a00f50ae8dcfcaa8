"""python -m mezoo.report RESULTS_DIR [--out FILE]: the claims page of a results directory.

Reads the tables `mezoo.toy`, `mezoo.analyze`, `mezoo.scaling` and `mezoo.parity` wrote into
RESULTS_DIR's subdirectories and writes RESULTS_DIR/README.md (or FILE): for each of the
paper's five claims a verdict computed from those numbers, the numbers, what was cut and a
figure, then the BARS parity table and every result's command. Nothing retrains; the logic
is `mezoo.evidence.report`.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m mezoo.report", description=__doc__.split("\n")[0])
    parser.add_argument("results", metavar="RESULTS_DIR", help="directory whose subdirectories hold the results")
    parser.add_argument("--out", help="the page to write (default RESULTS_DIR/README.md)")
    return parser.parse_args(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    from mezoo.evidence.report import write_report

    try:
        path = write_report(args.results, args.out, argv=argv)
    except (OSError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
