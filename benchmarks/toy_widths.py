"""For which embedding widths K does the interaction-collapse toy show the paper's ordering?

Runs `mezoo.evidence.toy` (D3 = 3 and D3 = 100, the paper's 5,000 full-batch steps) for each
K and seed and prints one line per K: IA(E1) at the end for both D3 per seed, the gap, and
whether IA(D3=3) < IA(D3=100) held on every seed: the table behind `python -m mezoo.toy`'s
default `--dim` (`--write`: docs/benchmarks/toy_widths.md).

    python benchmarks/toy_widths.py --dims 3,5,10,20,50,100 --seeds 3 [--steps 5000]
"""

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks.common import add_write_flag, published  # noqa: E402
from mezoo.evidence import toy  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dims", default="3,5,10,20,50,100")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=5000)
    add_write_flag(parser, "toy_widths")
    args = parser.parse_args()
    with published(args.write, "The toy's interaction collapse per embedding width"):
        report(args)


def report(args) -> None:
    """Runs the benchmark and prints its figures."""
    print(f"toy_widths --dims {args.dims} --seeds {args.seeds} --steps {args.steps}", flush=True)
    print("K | IA(E1) D3=3 per seed | IA(E1) D3=100 per seed | mean gap | holds on every seed", flush=True)
    for dim in (int(d) for d in args.dims.split(",")):
        results = toy.run_study(dim, range(args.seeds), steps=args.steps, record_every=args.steps)
        table = toy.final_ia(results)
        holds = toy.ordering_holds(results)
        low = [table[3][s] for s in range(args.seeds)]
        high = [table[100][s] for s in range(args.seeds)]
        gap = sum(hi - lo for lo, hi in zip(low, high)) / args.seeds
        print(
            f"{dim} | {', '.join(f'{v:.2f}' for v in low)} | {', '.join(f'{v:.2f}' for v in high)} | "
            f"{gap:+.2f} | {'yes' if all(holds.values()) else 'no'} ({sum(holds.values())}/{len(holds)})",
            flush=True,
        )


if __name__ == "__main__":
    main()
