"""python -m mezoo.toy: the interaction-collapse toy (docs/method.md §5 claim 2), one command.

    python -m mezoo.toy [--dim 50] [--seeds 3] [--steps 5000] [--out toy_results]

Trains only E1 of a 3-field FM (D1 = D2 = 100, D3 = 3 and D3 = 100, E2/E3 frozen, N(0, 1)
tables, random labels, full-batch SGD with learning rate 1), prints IA(E1) as it trains, and
writes `toy.csv` (IA, normalised IA and effective rank of E1 every `--record_every` steps),
`toy.png` (IA(E1) against step for both D3, mean and min-max band over seeds) and `README.md`
(the final figures, whether the ordering held on every seed, and the command, date, commit and
machine). The logic is `mezoo.evidence.toy`.
"""

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DEFAULT_DIM = 50


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m mezoo.toy", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--dim",
        type=int,
        default=DEFAULT_DIM,
        help=f"embedding width K (the paper does not give it; default {DEFAULT_DIM}, see BUILD.md)",
    )
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds (0 .. seeds-1)")
    parser.add_argument("--steps", type=int, default=5000, help="full-batch SGD steps (the paper: 5000)")
    parser.add_argument("--d3", default="3,100", help="comma-separated values of D3 (the paper: 3,100)")
    parser.add_argument("--learning_rate", type=float, default=1.0, help="SGD learning rate (the paper: 1)")
    parser.add_argument("--record_every", type=int, default=50, help="measure IA(E1) every this many steps")
    parser.add_argument("--print_every", type=int, default=1000, help="print IA(E1) every this many steps")
    parser.add_argument("--out", default="toy_results", help="directory for toy.csv, toy.png and README.md")
    args = parser.parse_args(argv)
    try:
        args.d3_values = [int(v) for v in args.d3.split(",") if v.strip()]
    except ValueError:
        parser.error(f"--d3 must be comma-separated integers, got {args.d3!r}")
    if args.dim < 1 or args.seeds < 1 or args.steps < 1 or not args.d3_values or min(args.d3_values) < 1:
        parser.error("--dim, --seeds, --steps and every --d3 value must be >= 1")
    if args.record_every < 1 or args.print_every < 1:
        parser.error("--record_every and --print_every must be >= 1")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from mezoo.evidence import provenance, toy, toy_report

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def progress(entry):
        if entry["step"] % args.print_every == 0 or entry["step"] == args.steps:
            print(
                f"K={entry['dim']} D3={entry['d3']:<3} seed {entry['seed']} step {entry['step']:>5}: "
                f"IA(E1) {entry['ia']:6.2f}  normalised {entry['ia_normalised']:.3f}  erank {entry['erank']:6.2f}  "
                f"loss {entry['loss']:.4f}",
                flush=True,
            )

    results = toy.run_study(
        args.dim,
        range(args.seeds),
        args.d3_values,
        steps=args.steps,
        record_every=args.record_every,
        learning_rate=args.learning_rate,
        progress=progress,
    )
    info = provenance.provenance("mezoo.toy", sys.argv[1:] if argv is None else argv)
    toy.write_csv(results, out / "toy.csv")
    toy.plot(results, out / "toy.png")
    (out / "README.md").write_text(toy_report.markdown(results, args, info))
    print(toy_report.verdict(results))
    print(f"wrote {out / 'toy.csv'}, {out / 'toy.png'}, {out / 'README.md'}")


if __name__ == "__main__":
    main()
