"""Accelerator check: the zoo's training step on whatever devices JAX (and PyTorch) see, no TensorFlow needed.

One command, run with the JAX environment's Python; the torch cells run in the PyTorch
environment's (`--torch_python`, default `.venv-torch/bin/python`; skipped when it is absent):

    .venv-jax/bin/python benchmarks/accelerator_check.py --out docs/benchmarks/accelerator_check
    .venv-jax/bin/python benchmarks/accelerator_check.py --smoke       # CI: tiny shapes, seconds

It trains the 7 Criteo rows of `benchmarks/train_step.py` (`CRITEO_ROWS`: DCNv2 SE 1x/4x/10x,
ME 4x10/10x10, DNN SE 1x/ME 10x10) at Criteo's vocabulary sizes (`benchmarks.common`), batch
2048, on in-memory uniform ids, compiled by `mezoo.training.compile_model` as `mezoo.train` does:

- `jax`: every row on one device, exact mode, float32 and `mixed_bfloat16` (fast mode, the
  row-sparse update, needs TensorFlow: `compile_model` refuses it on JAX and PyTorch, and the
  table says so);
- `jax_model_parallel`: one sharded-table step, the DCNv2 ME 10x10 row with every embedding table
  row-sharded over all the devices JAX sees (`mezoo.training.jax_distribution`, as
  `train.distribution: model_parallel` does; with one device, a mesh of one);
- `torch`: every row on Keras' PyTorch backend (its GPU when torch sees one), exact mode, float32
  and `mixed_bfloat16`; `--torch_jit` also times `jit_compile` true/false there.

Each (placement, precision) runs its rows in a process of its own; a row is an untimed epoch that
traces and compiles, then `--repeats` timed epochs of `--steps` steps, and its figure is the
median step time. The output is
one JSON file and one Markdown table (`--out PREFIX`: `PREFIX.json`, `PREFIX.md`) naming the
devices. `--smoke` runs two rows at tiny shapes, the sharded cell over two virtual CPU devices.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# The row definitions import mezoo, so Keras: without TensorFlow installed, JAX is the backend here.
os.environ.setdefault("KERAS_BACKEND", "jax")

from benchmarks.common import epoch_timer, shape_vocab_sizes  # noqa: E402
from benchmarks.train_step import CRITEO_ROWS  # noqa: E402

PRECISIONS = ("float32", "mixed_bfloat16")
SHARDED_ROW = "DCNv2 ME 10x10"
SMOKE_ROWS = ("DCNv2 ME 4x10", "DNN SE 1x")
SMOKE_VOCAB = [50] * 39
JIT = {"auto": "auto", "true": True, "false": False}


def run_cells(specs: list) -> list:
    """Each cell in this process, one after the other; a failed cell reports its error."""
    import keras

    results = []
    for spec in specs:
        try:
            results.append(run_cell(spec))
        except Exception as error:  # one row out of memory must not lose the others
            results.append({"error": f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"})
        keras.backend.clear_session()
    return results


def run_cell(spec: dict) -> dict:
    """One cell in this process (its backend from KERAS_BACKEND): the median step time in ms."""
    import keras
    import numpy as np

    import mezoo  # noqa: F401  (registers the zoo's classes)
    from mezoo import models
    from mezoo.training import compile_model

    backend = keras.backend.backend()
    if spec["placement"] == "jax_model_parallel":
        from mezoo.training.jax_distribution import make_distribution

        keras.distribution.set_distribution(make_distribution("model_parallel", None, spec["batch"]).distribution)
    keras.utils.set_random_seed(0)
    keras.mixed_precision.set_global_policy(spec["precision"])
    fields = [(f"f{i}", v) for i, v in enumerate(spec["vocab_sizes"])]
    model = models.get(spec["model"])(fields, num_embedding_sets=spec["sets"], embedding_dim=spec["dim"])
    compile_model(model, spec["mode"], jit_compile=JIT[spec["jit"]])
    rng = np.random.default_rng(0)
    batch, steps = spec["batch"], spec["steps"]
    ids = np.stack([rng.integers(0, v, batch * steps) for v in spec["vocab_sizes"]], axis=1).astype("int32")
    labels = rng.integers(0, 2, (batch * steps, 1)).astype("float32")
    times = []

    model.fit(
        {"ids": ids}, labels, batch_size=batch, epochs=1 + spec["repeats"], verbose=0, callbacks=[epoch_timer(times)]
    )
    first = times.pop(0)
    result = {
        "step_ms": 1000 * statistics.median(times) / steps,
        "first_epoch_s": first,
        "jit_used": bool(model.jit_compile),
        "device": device_name(backend),
    }
    if spec["placement"] == "jax_model_parallel":
        import jax

        result["devices"] = len(jax.devices())
    return result


def device_name(backend: str) -> str:
    if backend == "torch":
        import torch

        return (
            torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"cpu ({platform.processor() or 'torch'})"
        )
    import jax

    device = jax.devices()[0]
    return f"{len(jax.devices())} x {device.platform} {getattr(device, 'device_kind', '')}".strip()


def in_subprocess(specs: list, python: str, smoke: bool) -> list:
    """`specs` (one placement) run by `python` in a process of their own."""
    placement = specs[0]["placement"]
    env = {**os.environ, "KERAS_BACKEND": "torch" if placement == "torch" else "jax"}
    if smoke and placement == "jax_model_parallel":
        env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=2"
    result = subprocess.run(
        [python, __file__, "--cells", json.dumps(specs)], capture_output=True, text=True, env=env, cwd=ROOT
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("[")]
    if result.returncode != 0 or not lines:
        error = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "no output"
        return [{"error": error}] * len(specs)
    return json.loads(lines[-1])


def cells(args) -> list:
    rows = [r for r in CRITEO_ROWS if not args.smoke or r[0] in SMOKE_ROWS]
    if args.rows:
        rows = [r for r in rows if r[0] in args.rows.split(",")]
    vocab = SMOKE_VOCAB if args.smoke else shape_vocab_sizes("criteo")[0]
    base = {"vocab_sizes": vocab, "batch": args.batch, "steps": args.steps, "repeats": args.repeats}
    out = []
    for label, model, sets, dim, _ in rows:
        row = {**base, "label": label, "model": model, "sets": sets, "dim": dim}
        for precision in args.precisions.split(","):
            out.append({**row, "placement": "jax", "mode": "exact", "precision": precision, "jit": "auto"})
            for jit in args.torch_jit.split(","):
                out.append({**row, "placement": "torch", "mode": "exact", "precision": precision, "jit": jit})
    sharded = [r for r in CRITEO_ROWS if r[0] == (SMOKE_ROWS[0] if args.smoke else SHARDED_ROW)][0]
    label, model, sets, dim, _ = sharded
    out.append(
        {**base, "label": label, "model": model, "sets": sets, "dim": dim, "placement": "jax_model_parallel"}
        | {"mode": "exact", "precision": "float32", "jit": "auto"}
    )
    return out


def table(results: list) -> str:
    lines = [
        "| row | placement | mode | precision | jit_compile | step ms | examples/s | device |",
        "|---|---|---|---|---|---:|---:|---|",
    ]
    for r in results:
        if "step_ms" in r:
            figures = f"{r['step_ms']:.1f} | {r['batch'] / r['step_ms'] * 1000:,.0f}"
            jit = f"{r['jit']} ({'on' if r['jit_used'] else 'off'})"
        else:
            figures, jit = f"{r.get('error')} | -", r["jit"]
        placement = r["placement"] + (f" ({r['devices']} devices)" if "devices" in r else "")
        device = r.get("device", "-")
        lines.append(f"| {r['label']} | {placement} | {r['mode']} | {r['precision']} | {jit} | {figures} | {device} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="two rows at tiny shapes, for CI")
    parser.add_argument("--rows", default="", help="comma-separated row labels (default all)")
    parser.add_argument("--precisions", default=",".join(PRECISIONS), help="comma-separated dtype policies")
    parser.add_argument("--torch_jit", default="auto", help="comma-separated jit_compile settings for torch cells")
    parser.add_argument("--torch_python", default=str(ROOT / ".venv-torch" / "bin" / "python"))
    parser.add_argument("--batch", type=int, default=2048)
    parser.add_argument("--steps", type=int, default=20, help="steps per timed epoch")
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs per cell")
    parser.add_argument("--out", help="write PREFIX.json and PREFIX.md")
    parser.add_argument("--cells", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cells:
        print(json.dumps(run_cells(json.loads(args.cells))))
        return
    if args.smoke:
        args.batch, args.steps, args.repeats = 64, 3, 1
    torch_python = args.torch_python if Path(args.torch_python).exists() else None
    groups: dict = {}
    for spec in cells(args):
        groups.setdefault((spec["placement"], spec["precision"], spec["jit"]), []).append(spec)
    results = []
    for (placement, _, _), specs in groups.items():
        if placement == "torch" and not torch_python:
            found = [{"error": f"no PyTorch environment at {args.torch_python} (make install-torch)"}] * len(specs)
        else:
            found = in_subprocess(specs, torch_python if placement == "torch" else sys.executable, args.smoke)
        for spec, result in zip(specs, found):
            results.append({**{k: v for k, v in spec.items() if k != "vocab_sizes"}, **result})
            print(table(results[-1:]).splitlines()[-1], flush=True)
    devices = sorted({r["device"] for r in results if "device" in r})
    text = (
        f"# Accelerator check\n\n{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"devices: {'; '.join(devices)}; Criteo's vocabularies ({'tiny, ' if args.smoke else ''}"
        f"{sum(SMOKE_VOCAB if args.smoke else shape_vocab_sizes('criteo')[0]):,} rows), batch {args.batch}, "
        f"{args.steps} steps x {args.repeats} timed epochs. Fast mode (row-sparse Adam) needs TensorFlow: "
        f"refused on JAX and PyTorch (docs/backends.md).\n\n{table(results)}\n"
    )
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(f"{args.out}.json").write_text(json.dumps({"devices": devices, "cells": results}, indent=1) + "\n")
        Path(f"{args.out}.md").write_text(text)
    errors = [r for r in results if "error" in r and r["placement"] != "torch"]
    if errors:
        raise SystemExit(f"{len(errors)} cells failed: {errors[0]['error']}")


if __name__ == "__main__":
    main()
