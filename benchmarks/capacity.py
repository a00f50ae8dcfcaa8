"""Benchmark: what fits where, by arithmetic, and the per-device state replicated vs sharded, measured.

Arithmetic: a gathered table of `rows` rows and `M * d` columns holds `4 * M * d` bytes per row
in float32, and Adam keeps two slots of the same shape (both modes: `FusedAdam` and
`RowSparseAdam` keep dense m and v tables), so training state is `12 * M * d` bytes per row.
Exact mode's step also holds the table's dense gradient (on JAX and, through `FusedAdam`'s
densified slices, on TensorFlow): `16 * M * d` bytes per row at the step's peak; fast mode's
gradient is the batch's rows only. The dense part of a zoo model (cross layers, MLP) is a few
MB and left out. For each configuration the table gives the peak per device when replicated
(`mirrored`, `data_parallel`) and how many devices of 16, 80 and 141 GB a row-sharded run
(`model_parallel`) needs, keeping 20% of each device for everything else.

Criteo Kaggle: Criteo_x4's min-count-10 vocabularies (`benchmarks.common.criteo_vocab_sizes`).
Criteo 1TB: MLPerf DLRM's 26 categorical cardinalities with its 40 M-row cap per field (as
torchrec's DLRM example lists them) plus 13 bucketed integer fields.

Measured (`--measure`, JAX on `--devices` virtual CPU devices, one process per placement): the
largest per-device total of live arrays (weights and Adam slots, from each array's shards)
after one training step of DCNv2 SE 1x and ME 10x10 at Criteo Kaggle's shape, data parallel
against model parallel; the ratio is what row sharding saves.

    python benchmarks/capacity.py --measure --devices 4 --write
"""

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import add_write_flag, command_line, criteo_vocab_sizes, published  # noqa: E402

CRITEO_1TB_CATEGORICAL = [
    40_000_000, 39_060, 17_295, 7_424, 20_265, 3, 7_122, 1_543, 63, 40_000_000, 3_067_956, 405_282, 10,
    2_209, 11_938, 155, 4, 976, 14, 40_000_000, 40_000_000, 40_000_000, 590_152, 12_973, 108, 36,
]  # fmt: skip
INTEGER_BUCKETS = 13 * 64  # log-square buckets of the 13 integer fields, generously
CONFIGS = [("SE 1x", 1, 10), ("SE 10x", 1, 100), ("ME 4x10", 4, 10), ("ME 10x10", 10, 10)]
DEVICES_GB = [16, 80, 141]
USABLE = 0.8


def arithmetic() -> None:
    kaggle, source = criteo_vocab_sizes()
    datasets = [
        (f"Criteo Kaggle ({source})", int(sum(kaggle))),
        ("Criteo 1TB (40 M cap per field)", sum(CRITEO_1TB_CATEGORICAL) + INTEGER_BUCKETS),
    ]
    print("| data | model | rows | table GB | exact: peak GB per replica | fast: state GB per replica |", end="")
    print("".join(f" model_parallel: {g} GB devices |" for g in DEVICES_GB))
    print("|---|---|---|---|---|---|" + "---|" * len(DEVICES_GB))
    for name, rows in datasets:
        for label, sets, dim in CONFIGS:
            width = sets * dim
            table, exact, fast = (4 * width * rows / 1e9, 16 * width * rows / 1e9, 12 * width * rows / 1e9)
            needed = [math.ceil(exact / (USABLE * g)) for g in DEVICES_GB]
            cells = "".join(f" {n} |" for n in needed)
            print(f"| {name} | {label} | {rows:,} | {table:,.1f} | {exact:,.1f} | {fast:,.1f} |{cells}")
    print(
        "\nA replicated run fits a device where its peak is below about 80% of the device's memory; a sharded run "
        "needs the devices listed (exact mode's peak divided over them; the dense weights are replicated on each)."
    )


def measure_one(spec: dict) -> dict:
    import keras
    import numpy as np

    from benchmarks.train_step import device_state_mb
    from mezoo import models
    from mezoo.training import compile_model
    from mezoo.training.jax_distribution import make_distribution

    distribution = make_distribution(spec["placement"], None, spec["batch"])
    keras.distribution.set_distribution(distribution.distribution)
    vocab, _ = criteo_vocab_sizes()
    model = models.get("dcnv2")([(f"f{i}", v) for i, v in enumerate(vocab)], num_embedding_sets=spec["sets"],
                                embedding_dim=spec["dim"])  # fmt: skip
    compile_model(model, "exact")
    rng = np.random.default_rng(0)
    ids = np.stack([rng.integers(0, v, spec["batch"]) for v in vocab], 1).astype("int32")
    model.fit({"ids": ids}, rng.integers(0, 2, (spec["batch"], 1)).astype("float32"), batch_size=spec["batch"],
              verbose=0)  # fmt: skip
    table_mb = int(np.prod(model.multi_embedding.embeddings.shape)) * 4 / 2**20
    return {"state_mb": device_state_mb(), "table_mb": table_mb}


def measure(devices: int) -> None:
    print(f"\nMeasured on {devices} virtual CPU devices (JAX), one training step, batch 2048:\n")
    print("| model | table MB | data_parallel: state MB per device | model_parallel: state MB per device | ratio |")
    print("|---|---|---|---|---|")
    env = {**os.environ, "KERAS_BACKEND": "jax", "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
    for label, sets, dim in [("DCNv2 SE 1x", 1, 10), ("DCNv2 ME 10x10", 10, 10)]:
        results = {}
        for placement in ("data_parallel", "model_parallel"):
            spec = {"placement": placement, "sets": sets, "dim": dim, "batch": 2048}
            done = subprocess.run([sys.executable, __file__, "--one", json.dumps(spec)], env=env, capture_output=True,
                                  text=True)  # fmt: skip
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            if done.returncode or not lines:
                raise RuntimeError(f"{label} {placement} failed:\n{done.stderr[-3000:]}")
            results[placement] = json.loads(lines[-1])
        replicated, sharded = results["data_parallel"]["state_mb"], results["model_parallel"]["state_mb"]
        print(
            f"| {label} | {results['data_parallel']['table_mb']:,.1f} | {replicated:,.1f} | {sharded:,.1f} "
            f"| {sharded / replicated:.2f}x |"
        )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", action="store_true", help="also measure per-device state on virtual devices")
    parser.add_argument("--devices", type=int, default=4)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    add_write_flag(parser, "capacity")
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure_one(json.loads(args.one))))
        return
    with published(args.write, "Capacity: what fits where, replicated and row-sharded"):
        print("command:", command_line(), flush=True)
        arithmetic()
        if args.measure:
            measure(args.devices)


if __name__ == "__main__":
    main()
