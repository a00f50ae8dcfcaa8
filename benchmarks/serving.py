"""Serving latency and throughput through the loaded SavedModel (`mezoo.export`), Criteo shapes.

    .venv/bin/python benchmarks/serving.py            # DCNv2 SE 1x and ME 10x10, XLA off and on
    .venv/bin/python benchmarks/serving.py --smoke    # what CI runs: tiny vocabularies, few calls

Each row: a DCNv2 over Criteo's 39 fields at the vocabulary sizes of `vocab_min_count_10_Criteo_x4_001`
(910,747 rows), exported from a run directory made here (untrained weights: timing only), loaded
with `tf.saved_model.load`, and called on serialized raw `tf.Example`s (values drawn from the
vocabularies) through `serving_default`: p50/p99 latency of 1-example and 256-example requests,
examples/s at 256; then `predict_ids` (ids already mapped, forward only) at batch 2048, the
official code's inference setting. Each row runs in its own process; one line of figures each.
With `--peer FILE` (the JSON `../shared/peerbench/torch_me_bench.py --jobs infer:dcn-10
infer:mdcn-10x10 --out FILE` wrote in the same session), each row also shows the official code's
inference examples/s and the batch-256 ratio to it.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import add_write_flag, command_line, criteo_vocab_sizes, peer_rates, published  # noqa: E402

ROWS = {"DCNv2 SE 1x": 1, "DCNv2 ME 10x10": 10}
PEER_CONFIGS = {"DCNv2 SE 1x": "dcn-10", "DCNv2 ME 10x10": "mdcn-10x10"}  # the official code's config names


def peer_inference(path: str) -> dict:
    """Row label -> the official code's inference examples/s, from `torch_me_bench.py --out` (same run)."""
    by_config = peer_rates(path, "infer")
    return {label: by_config[config] for label, config in PEER_CONFIGS.items() if config in by_config}


def make_run_dir(directory: Path, vocab_sizes, num_sets: int) -> None:
    """A run directory as mezoo.train leaves it: spec, vocabularies, model.keras (untrained)."""
    import mezoo
    from mezoo.data.feature_spec import FeatureSpec, write_vocabulary

    (directory / "vocab").mkdir(parents=True)
    fields = []
    for i, size in enumerate(vocab_sizes):
        integer = i < 13
        name = f"I{i + 1}" if integer else f"C{i - 12}"
        tokens = [b""] + [str(k).encode() if integer else f"{k:08x}".encode() for k in range(size - 2)]
        write_vocabulary(str(directory / "vocab" / f"{name}.txt"), tokens[: size - 1])
        field = {
            "name": name,
            "kind": "categorical",
            "source": "integer" if integer else "string",
            "vocab_size": size,
            "vocabulary": f"vocab/{name}.txt",
        }
        if integer:
            field["transform"] = "log_square_bucket"
        fields.append(field)
    spec = FeatureSpec({"dataset": "criteo", "fields": fields, "splits": {}}, str(directory))
    spec.save(str(directory))
    model = mezoo.models.get("dcnv2")(spec, num_embedding_sets=num_sets, embedding_dim=10)
    model.save(directory / "model.keras")


def percentile(values, q):
    import numpy as np

    return float(np.percentile(np.asarray(values) * 1e3, q))


def run_row(label: str, jit: bool, smoke: bool, threads: str = "") -> dict:
    import numpy as np
    import tensorflow as tf

    if threads:  # TF Serving's --tensorflow_intra_op_parallelism / --tensorflow_inter_op_parallelism
        intra, inter = (int(x) for x in threads.split(","))
        tf.config.threading.set_intra_op_parallelism_threads(intra)
        tf.config.threading.set_inter_op_parallelism_threads(inter)

    from mezoo.data import FeatureSpec
    from mezoo.serving.export import export_run
    from mezoo.serving.raw_examples import raw_value_of_token, serialize_rows

    sizes, source = criteo_vocab_sizes()
    if smoke:
        sizes = [min(s, 50) for s in sizes]
    work = Path(tempfile.mkdtemp(prefix="mezoo-serving-bench-"))
    make_run_dir(work / "run", [max(int(s), 2) for s in sizes], ROWS[label] if not smoke else min(ROWS[label], 2))
    start = time.perf_counter()
    export = export_run(work / "run", work / "export", jit_compile=jit, verbose=False)
    export_seconds = time.perf_counter() - start
    spec = FeatureSpec.load(str(export / "assets.extra"))
    rng = np.random.default_rng(0)
    vocab = {f["name"]: spec.vocabulary(f["name"]) for f in spec.fields}

    def rows(n):
        return [
            {
                f["name"]: raw_value_of_token(f, vocab[f["name"]][rng.integers(len(vocab[f["name"]]))])
                for f in spec.fields
            }
            for _ in range(n)
        ]

    loaded = tf.saved_model.load(str(export))
    serve, predict_ids = loaded.signatures["serving_default"], loaded.signatures["predict_ids"]
    calls = {1: 30 if smoke else 400, 256: 5 if smoke else 80}
    result = {
        "row": label,
        "xla": jit,
        **({"threads": threads} if threads else {}),
        "vocab": f"{sum(sizes):,} rows ({source})",
        "export_s": round(export_seconds, 1),
    }
    for batch, n in calls.items():
        requests = [tf.constant(serialize_rows(rows(batch), spec)) for _ in range(16)]
        for r in requests[:3]:  # warm-up (TF Serving replays its warm-up file likewise)
            serve(examples=r)
        times = []
        for i in range(n):
            t = time.perf_counter()
            serve(examples=requests[i % len(requests)])["probability"].numpy()
            times.append(time.perf_counter() - t)
        result[f"b{batch}_p50_ms"] = round(percentile(times, 50), 2)
        result[f"b{batch}_p99_ms"] = round(percentile(times, 99), 2)
        if batch > 1:
            result[f"b{batch}_examples_per_s"] = round(batch / float(np.median(times)))
    ids = tf.constant(np.stack([rng.integers(0, s, 2048) for s in sizes], axis=1), tf.int64)
    predict_ids(ids=ids)
    times = []
    for _ in range(3 if smoke else 15):
        t = time.perf_counter()
        predict_ids(ids=ids)["probability"].numpy()
        times.append(time.perf_counter() - t)
    result["ids_b2048_examples_per_s"] = round(2048 / float(np.median(times)))
    return result


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny vocabularies and few calls, for CI")
    parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated row labels")
    parser.add_argument("--xla", default="false,true", help="comma-separated: false (the default export), true")
    parser.add_argument(
        "--peer",
        help="torch_me_bench.py --out JSON of the same run (../shared/peerbench): adds "
        "the official code's inference examples/s (batch 2048, ids) and the ratio",
    )
    parser.add_argument("--threads", default="", help="intra,inter op threads (default: TensorFlow's, all cores)")
    parser.add_argument("--row", help=argparse.SUPPRESS)
    add_write_flag(parser, "serving")
    args = parser.parse_args(argv)
    with published(args.write, "Serving latency and throughput"):
        report(args)


def report(args) -> None:
    """Runs the benchmark and prints its figures."""
    if args.row:  # one row, in this process
        label, jit = args.row.rsplit("|", 1)
        print(json.dumps(run_row(label, jit == "true", args.smoke, args.threads)))
        return
    peer = peer_inference(args.peer) if args.peer else {}
    print(f"# {command_line()}")
    print(f"# {time.strftime('%Y-%m-%d %H:%M')} UTC, {os.cpu_count()} CPUs")
    for label in [r.strip() for r in args.rows.split(",") if r.strip()]:
        for jit in [x.strip() for x in args.xla.split(",") if x.strip()]:
            cmd = [sys.executable, __file__, "--row", f"{label}|{jit}", "--threads", args.threads] + (
                ["--smoke"] if args.smoke else []
            )
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                sys.stderr.write(proc.stderr[-4000:])
                raise SystemExit(f"row {label} (xla {jit}) failed")
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            if label in peer:
                result["peer_infer_examples_per_s"] = round(peer[label])
                result["b256_vs_peer"] = round(result["b256_examples_per_s"] / peer[label], 2)
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
