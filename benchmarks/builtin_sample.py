"""How learnable a built-in-style synthetic sample is: generate, convert, train a recipe, compare.

    .venv/bin/python benchmarks/builtin_sample.py --rows 100000 --max_cardinality 6 --first_order 1.5 --epochs 2

Generates a Criteo-like sample with `tfrecord_tools.synthetic` (cached under --workdir),
converts it, trains `--recipe` on it through `mezoo.training.trainer.train` and prints the planted AUC, the
goal 0.5 + 0.8 x (planted - 0.5), the test AUC, the share of the planted lift reached, the
AUC of the planted model's per-field part alone, and wall times. The recipe's own sample
settings (`data.synthetic_*`) are what `python -m mezoo.train` uses; this is for trying others.
"""

import argparse
import json
import math
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import add_write_flag, command_line, published  # noqa: E402


def additive_auc(rows, cap, first_order, pairs, signal, seed=0) -> float:
    """AUC of the planted model's per-field part alone on fresh rows: what no interaction reaches."""
    from mezoo.metrics import auc
    from tfrecord_tools.synthetic import Generator

    gen = Generator("criteo", rows, seed, signal, cap, pairs=pairs, first_order=first_order)
    _, _, ids = gen.draw(50_000)
    logits = gen.logits(ids)
    labels = gen.labels(logits)
    additive = sum(first_order * gen.first[f][ids[f]] / math.sqrt(len(gen.fields)) for f in gen.fields)
    return auc(labels, additive)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default="dcnv2_me_criteo")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--max_cardinality", type=int, default=6)
    parser.add_argument("--first_order", type=float, default=1.5)
    parser.add_argument("--pairs", type=int, default=0)
    parser.add_argument("--signal", type=float, default=1.0)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch_size", type=int, default=2048)
    parser.add_argument("--workdir", default="/tmp/mezoo-builtin-bench")
    parser.add_argument("--set", action="append", default=[], help="more recipe overrides")
    add_write_flag(parser, "builtin_sample")
    args = parser.parse_args()
    with published(args.write, "How learnable the built-in sample is"):
        report(args)


def report(args) -> None:
    """Runs the benchmark and prints its figures."""
    print(command_line(), flush=True)

    from mezoo.training.data_sources import TFRecordSource
    from mezoo.training.trainer import train
    from tfrecord_tools import synthetic

    key = f"r{args.rows}-c{args.max_cardinality}-fo{args.first_order:g}-p{args.pairs}-s{args.signal:g}"
    root = Path(args.workdir) / key
    converted = root / "converted"
    start = time.perf_counter()
    if not (converted / "feature_spec.json").exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        info = synthetic.generate(
            "criteo",
            args.rows,
            str(root / "train.txt"),
            seed=0,
            signal=args.signal,
            max_cardinality=args.max_cardinality,
            first_order=args.first_order,
            pairs=args.pairs,
        )
        subprocess.run(
            [
                sys.executable,
                "-m",
                "tfrecord_tools.criteo",
                "--input",
                str(root / "train.txt"),
                "--output",
                str(converted),
                "--seed",
                "0",
            ],
            check=True,
            capture_output=True,
        )
        (converted / "planted.json").write_text(json.dumps(info))
    planted = json.loads((converted / "planted.json").read_text())["planted_auc_heldout"]
    generated = time.perf_counter() - start
    run_dir = root / f"run-{args.recipe}-e{args.epochs}-b{args.batch_size}"
    shutil.rmtree(run_dir, ignore_errors=True)
    overrides = [f"train.epochs={args.epochs}", f"data.batch_size={args.batch_size}", *args.set]
    start = time.perf_counter()
    result = train(
        args.recipe,
        overrides,
        run_dir=run_dir,
        source=TFRecordSource(converted, synthetic=True, planted_auc=planted),
        verbose=0,
    )
    trained = time.perf_counter() - start
    goal = 0.5 + 0.8 * (planted - 0.5)
    test = result["test_auc"]
    share = (test - 0.5) / (planted - 0.5)
    additive = additive_auc(args.rows, args.max_cardinality, args.first_order, args.pairs, args.signal)
    print(
        f"planted {planted:.4f}  goal {goal:.4f}  test {test:.4f}  share of the lift {share:.2f}  "
        f"per-field part alone {additive:.4f}"
    )
    val_aucs = [round(e["val_auc"], 4) for e in result["epochs"]]
    print(f"validation AUC by epoch {val_aucs}, best epoch {result['best_epoch']}")
    print(f"generate + convert {generated:.0f} s (0 when cached), train + evaluate {trained:.0f} s")


if __name__ == "__main__":
    main()
