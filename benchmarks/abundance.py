"""Benchmark: information abundance of a big table, and MultiEmbedding lookup throughput.

Prints the command, then one line of figures:

- `ia_gram_s`: median and min seconds of `information_abundance` on a `rows x cols` float32
  table by the exact float64 Gram path (default 1,000,000 x 100, the size of a large field at
  scale 10x); `ia_svd_s` (and `ia_gram_small_s` for comparison) on a table 10 times shorter;
- `lookup`: examples/s and ids/s of a compiled `MultiEmbedding` forward pass
  (`predict_on_batch` of a jit-compiled one-layer model, after a warm-up) for Criteo-like
  shapes: 39 fields with the vocabulary sizes of `criteo_kaggle_stats.json` (uniform split of
  1.08 M rows when that file is absent), batch 2048, embedding_dim 10, num_sets 1 and 10. Ids
  are drawn uniformly per field, which touches more distinct rows than real, skewed data.
  The time includes copying the output (batch x sets x 39 x 10 floats) back to numpy.

Medians over `--repeats` runs: the CI machine is noisy. `--smoke` runs tiny sizes only to
show the script still works.

    python benchmarks/abundance.py              # full size
    python benchmarks/abundance.py --smoke      # CI
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import keras
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import add_write_flag, command_line, criteo_vocab_sizes, published  # noqa: E402
from mezoo.abundance import information_abundance  # noqa: E402
from mezoo.layers import MultiEmbedding  # noqa: E402


def time_it(function, repeats: int):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def lookup_throughput(vocab_sizes, num_sets: int, dim: int, batch: int, repeats: int):
    keras.utils.set_random_seed(0)
    ids_in = keras.Input((len(vocab_sizes),), dtype="int32")
    model = keras.Model(ids_in, MultiEmbedding(vocab_sizes, embedding_dim=dim, num_sets=num_sets)(ids_in))
    model.compile(jit_compile=True)
    rng = np.random.default_rng(0)
    ids = np.stack([rng.integers(0, v, batch) for v in vocab_sizes], axis=1).astype("int32")
    for _ in range(3):
        model.predict_on_batch(ids)
    median, _ = time_it(lambda: model.predict_on_batch(ids), repeats)
    return batch / median, batch * len(vocab_sizes) / median


def time_ia(rows: int, cols: int, repeats: int):
    """IA of a random rows x cols table, and the Gram and SVD paths' timings (the table freed after)."""
    table = np.random.default_rng(0).standard_normal((rows, cols), dtype=np.float32)
    ia = information_abundance(table, "gram")
    gram = time_it(lambda: information_abundance(table, "gram"), repeats)
    small = table[: rows // 10]
    svd_repeats = max(1, min(3, repeats))
    svd_median, _ = time_it(lambda: information_abundance(small, "svd"), svd_repeats)
    gram_small_median, _ = time_it(lambda: information_abundance(small, "gram"), svd_repeats)
    return ia, gram, svd_median, gram_small_median


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the IA table")
    parser.add_argument("--cols", type=int, default=100, help="columns of the IA table")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per figure (median, min)")
    parser.add_argument("--batch", type=int, default=2048, help="lookup batch size")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check the script runs (CI)")
    add_write_flag(parser, "abundance")
    args = parser.parse_args(argv)
    with published(args.write, "Information abundance and MultiEmbedding lookups"):
        report(args)


def report(args) -> None:
    """Runs the benchmark and prints its figures."""

    vocab_sizes, vocab_source = criteo_vocab_sizes()
    if args.smoke:
        args.rows, args.cols, args.repeats, args.batch = 20_000, 16, 2, 256
        vocab_sizes = [max(2, v // 1000) for v in vocab_sizes]
        vocab_source += "/1000"

    print("command:", command_line(), flush=True)

    ia, (gram_median, gram_min), svd_median, gram_small_median = time_ia(args.rows, args.cols, args.repeats)

    lookups = {m: lookup_throughput(vocab_sizes, m, 10, args.batch, args.repeats) for m in (1, 10)}

    figures = [
        f"ia_gram_s[{args.rows}x{args.cols} f32] median={gram_median:.4g} min={gram_min:.4g} (IA={ia:.2f})",
        f"ia_svd_s[{args.rows // 10}x{args.cols}] median={svd_median:.4g}"
        f" vs ia_gram_small_s median={gram_small_median:.4g}",
    ]
    for m, (examples, ids) in lookups.items():
        figures.append(f"lookup[M={m}] examples/s={examples:,.0f} ids/s={ids:,.0f}")
    figures.append(
        f"| fields={len(vocab_sizes)} rows={sum(vocab_sizes):,} ({vocab_source}) batch={args.batch} d=10"
        f" repeats={args.repeats} backend={keras.backend.backend()} cpus={os.cpu_count()}"
        f" OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')}"
    )
    print("abundance: " + "; ".join(figures), flush=True)


if __name__ == "__main__":
    main()
