"""Benchmark: Criteo-format conversion end to end (vocabulary pass included), rows per second.

Prints the command, then one line of figures: median (and min/max) rows/s over `--repeats`
conversions of `--rows` generated Criteo rows (tfrecord_tools.synthetic, seed 0; generated
once into `--workdir` and reused), with the median seconds of each stage so the bounding
one is visible: `validate_count` (pass 1: parse + validate + count tokens), `transform`
(pass 2: parse again + the mezoo.data raw -> id transform + spooling ids per shard) and
`write` (order, serialise in bulk, gzip level 1, atomic rename). Each stage's own rate is
rows / its seconds.

    python benchmarks/convert.py                # 1,000,000 rows, 3 repeats
    python benchmarks/convert.py --smoke        # CI: 20,000 rows, 1 repeat
"""

import argparse
import os
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "mezoo-bench-convert"))
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--smoke", action="store_true", help="20,000 rows, 1 repeat (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.rows, args.repeats = 20_000, 1
    print("command:", " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv), flush=True)

    from tfrecord_tools.core import Options, convert
    from tfrecord_tools.formats import criteo_layout
    from tfrecord_tools.reader import FileInfo
    from tfrecord_tools.synthetic import generate

    os.makedirs(args.workdir, exist_ok=True)
    source = os.path.join(args.workdir, f"criteo_{args.rows}.txt")
    if not os.path.exists(source):
        generate("criteo", args.rows, source, seed=0)
    size = os.path.getsize(source)
    totals, stages = [], {"validate_count": [], "transform": [], "write": []}
    for r in range(args.repeats):
        out = os.path.join(args.workdir, "out")
        t = time.perf_counter()
        summary = convert([FileInfo(source)], criteo_layout(),
                          Options(output=out, dataset="criteo", min_count=10, parallel=args.parallel, verbose=False))
        totals.append(time.perf_counter() - t)
        timing = summary["timing"]
        stages["validate_count"].append(timing["pass1_validate_count_s"])
        stages["transform"].append(timing["pass2_transform_s"])
        stages["write"].append(timing["write_shards_s"])
        assert summary["rows_written"] == args.rows
    rates = [args.rows / t for t in totals]
    med = {k: statistics.median(v) for k, v in stages.items()}
    print(f"convert: {args.rows:,} Criteo rows ({size / 2**20:.0f} MiB TSV), {args.repeats} repeats, "
          f"{os.cpu_count()} CPUs: median {statistics.median(rates):,.0f} rows/s "
          f"(min {min(rates):,.0f}, max {max(rates):,.0f}); median stage s (rows/s): "
          + ", ".join(f"{k} {v:.2f} ({args.rows / max(v, 1e-9):,.0f})" for k, v in med.items()), flush=True)


if __name__ == "__main__":
    main()
