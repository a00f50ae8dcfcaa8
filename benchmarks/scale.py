"""Benchmark: the cost curve to Criteo Kaggle's size, conversion and training, from 1M to 45.8M rows.

For each size: synthetic Criteo rows at the published cardinalities (`tfrecord_tools.synthetic`,
drawn in chunks), converted by `python -m tfrecord_tools.criteo` (wall time, rows/s, peak RSS of
the process tree sampled every 0.2 s, vocabulary sizes and files), then the input pipeline's
rows/s on the output (`make_dataset` in training mode). At `--beam_size` the Beam converter on
the DirectRunner with `--beam_workers` workers. At `--epoch_size`, one epoch of DCNv2 SE 1x in
fast mode (`python -m mezoo.train --recipe dcnv2_se_criteo`) with the training examples/s and the
process's RSS sampled over the epoch, against the same step in the same run timed two ways: on
the conversion's own first `--own_batches` training batches held in memory (the recipe's model
built and compiled by the trainer itself, timed as `benchmarks/train_step.py` times a cell),
the comparison that isolates what a long epoch adds (input pipeline, callbacks, drift); and
`benchmarks/train_step.py`'s figure on uniform ids, which is not the same work: fast mode's step
costs follow the distinct rows a batch touches, and uniform ids touch more than Criteo's skewed
ones. Each figure is one run: the sizes' costs are the curve, not repeated medians (a
45.8M-row conversion is a quarter of an hour here).

    python benchmarks/scale.py --work /big/disk/scale            # 1M, 5M, 20M, 45.8M; minutes to hours
    python benchmarks/scale.py --smoke                           # CI: tiny sizes

Generated inputs and conversions are kept in `--work` (reused when they exist), so a run can be
resumed size by size; `--write` writes docs/benchmarks/scale.md and scale.png.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks.common import add_write_flag, published, timed_fit  # noqa: E402

KAGGLE_ROWS = 45_840_617
ROOT = Path(__file__).resolve().parents[1]


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants now (Linux /proc; 0 where unreadable)."""
    children: Dict[int, List[int]] = {}
    rss: Dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * page
        except (OSError, IndexError, ValueError):
            continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += children.get(p, [])
    return total


class Sampled:
    """Runs a command, sampling its process tree's RSS every `every` seconds: `peak` and the `series`."""

    def __init__(self, command: List[str], every: float = 0.2, env: Optional[dict] = None):
        self.command, self.every, self.env = command, every, env
        self.peak, self.series, self.seconds, self.output = 0, [], 0.0, ""

    def run(self) -> "Sampled":
        start = time.perf_counter()
        with tempfile.TemporaryFile("w+") as log:
            process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=ROOT)
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    now = tree_rss(process.pid)
                    self.peak = max(self.peak, now)
                    self.series.append((time.perf_counter() - start, now))
                    done.wait(self.every)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            status = process.wait()
            done.set()
            sampler.join()
            self.seconds = time.perf_counter() - start
            log.seek(0)
            self.output = log.read()
        if status:
            raise RuntimeError(f"{' '.join(self.command)} failed ({status}):\n{self.output[-3000:]}")
        return self


def generated(work: Path, rows: int, chunk_rows: int) -> Tuple[Path, float]:
    """The raw file of `rows` synthetic Criteo rows (made once; seconds to make it, 0 when reused)."""
    path = work / f"criteo_{rows}.txt"
    if path.exists() and (work / f"criteo_{rows}.txt.planted.json").exists():
        return path, 0.0
    command = [sys.executable, "-m", "tfrecord_tools.synthetic", "--dataset", "criteo", "--rows", str(rows)]
    command += ["--chunk_rows", str(min(chunk_rows, rows)), "--output", str(path)]
    return path, Sampled(command).run().seconds


def converted(work: Path, raw: Path, rows: int) -> Dict:
    """The local converter on `raw`: wall seconds, rows/s, peak RSS; vocabularies from its summary."""
    out = work / f"conv_{rows}"
    command = [sys.executable, "-m", "tfrecord_tools.criteo", "--input", str(raw), "--output", str(out)]
    run = Sampled(command).run()
    summary = json.loads((out / "summary.json").read_text())
    vocab_bytes = sum(p.stat().st_size for p in (out / "vocab").iterdir())
    return {
        "rows": rows,
        "seconds": run.seconds,
        "rows_per_s": rows / run.seconds,
        "peak_rss": run.peak,
        "vocab_total": summary["vocab_size_total"],
        "distinct": sum(summary["distinct_values"].values()),
        "vocab_bytes": vocab_bytes,
        "out": out,
    }


def beam_converted(work: Path, raw: Path, rows: int, workers: int) -> Dict:
    out = work / f"beam_{rows}"
    command = [sys.executable, "-m", "tfrecord_tools.beam", "criteo", "--input", str(raw), "--output", str(out)]
    command += ["--runner", "DirectRunner", f"--direct_num_workers={workers}"]
    command += ["--direct_running_mode=multi_processing"]
    run = Sampled(command).run()
    return {"rows": rows, "seconds": run.seconds, "rows_per_s": rows / run.seconds, "peak_rss": run.peak}


def pipeline_rate(conversion: Path, seconds: float) -> float:
    """make_dataset's examples/s in training mode on a conversion, in a process of its own."""
    code = (
        "import sys, time; from mezoo.data import make_dataset\n"
        f"it = iter(make_dataset({str(conversion)!r}, 'train', 2048, training=True, seed=0))\n"
        "[next(it) for _ in range(20)]\n"
        f"n, t = 0, time.perf_counter()\nwhile time.perf_counter() - t < {seconds}:\n"
        "    n += int(next(it)[1].shape[0])\nprint(n / (time.perf_counter() - t))\n"
    )
    run = Sampled([sys.executable, "-c", code]).run()
    return float(run.output.strip().splitlines()[-1])


EPOCH_RECIPE = "dcnv2_se_criteo"
EPOCH_SETTINGS = ["train.mode=fast", "train.epochs=1", "train.export=false", "train.backup_every_steps=null"]


def removed(run_dir: Path) -> Path:
    """`run_dir`, with an earlier run's directory there deleted (each timing starts from a new run)."""
    if run_dir.exists():
        import shutil

        shutil.rmtree(run_dir)
    return run_dir


def epoch(work: Path, conversion: Path, steps: Optional[int]) -> Dict:
    """One epoch of DCNv2 SE 1x in fast mode on the conversion: examples/s and the RSS over it."""
    run_dir = work / f"epoch_{conversion.name}"
    command = [sys.executable, "-m", "mezoo.train", "--recipe", EPOCH_RECIPE, "--data", str(conversion)]
    command += ["--run_dir", str(run_dir)]
    for setting in EPOCH_SETTINGS + ([f"train.steps_per_epoch={steps}"] if steps else []):
        command += ["--set", setting]
    removed(run_dir)
    run = Sampled(command, every=2.0).run()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    first = metrics["epochs"][0]
    return {"examples_per_s": first["examples_per_sec"], "series": run.series, "seconds": run.seconds}


def own_batches_rate(work: Path, conversion: Path, batches: int) -> float:
    """The epoch's step on the conversion's own first `batches` training batches, in memory (its own process)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--work", str(work), "--own_batches", str(batches)]
    output = Sampled(command + ["--step_on", str(conversion)]).run().output
    return float(output.strip().splitlines()[-1])


def time_own_batches(work: Path, conversion: Path, batches: int) -> float:
    """Examples/s of the epoch's model, built and compiled by the trainer (recipe and settings as
    the epoch's), over the conversion's first `batches` training batches cached in memory."""
    from mezoo.training.trainer import Trainer

    run_dir = removed(work / f"own_batches_{conversion.name}")
    trainer = Trainer(EPOCH_RECIPE, EPOCH_SETTINGS, data=conversion, run_dir=run_dir, verbose=0)
    try:
        run = trainer.set_up()
        cached = run.source.dataset("train", run.batch_size, training=True, seed=0).take(batches).cache()
        for _ in cached:  # one whole pass fills the cache: a pass cut short leaves it empty
            pass
        return run.batch_size / timed_fit(run.model, cached.repeat(), seconds=2.0, repeats=3)["step_s"]
    finally:
        trainer.held.close()


def step_rate() -> float:
    """benchmarks/train_step.py's examples/s of DCNv2 SE 1x in fast mode at Criteo's shape (same run)."""
    command = [sys.executable, "benchmarks/train_step.py", "--rows", "DCNv2 SE 1x", "--modes", "fast"]
    command += ["--shapes", "criteo", "--repeats", "3", "--seconds", "2"]
    output = Sampled(command).run().output
    header: List[str] = []
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| model"):
            header = cells
        elif line.startswith("| DCNv2 SE 1x") and "examples/s" in header:
            return float(cells[header.index("examples/s")].replace(",", ""))
    raise RuntimeError(f"no DCNv2 SE 1x row in benchmarks/train_step.py's output:\n{output[-2000:]}")


def gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


def plot(curve: List[Dict], series: Optional[List], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 3 if series else 2
    fig, axes = plt.subplots(1, panels, figsize=(5 * panels, 4))
    rows = [c["rows"] / 1e6 for c in curve]
    axes[0].plot(rows, [c["seconds"] / 60 for c in curve], "o-")
    axes[0].set(xlabel="rows (millions)", ylabel="conversion (minutes)", title="conversion time")
    axes[1].plot(rows, [c["peak_rss"] / 2**30 for c in curve], "o-", label="converter peak RSS")
    axes[1].axhline(16, color="grey", linestyle=":", label="16 GiB")
    axes[1].set(xlabel="rows (millions)", ylabel="GiB", title="memory")
    axes[1].legend(loc="upper left")
    if series:
        axes[2].plot([t / 60 for t, _ in series], [r / 2**30 for _, r in series])
        axes[2].set(xlabel="minutes", ylabel="RSS (GiB)", title="one epoch at the largest size")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=f"1000000,5000000,20000000,{KAGGLE_ROWS}")
    parser.add_argument("--work", default=None, help="where inputs and conversions are kept (default: a temp dir)")
    parser.add_argument("--beam_size", type=int, default=5_000_000, help="rows converted by Beam (0: none)")
    parser.add_argument("--beam_workers", type=int, default=2)
    parser.add_argument("--epoch_size", type=int, default=KAGGLE_ROWS, help="rows of the epoch's data (0: none)")
    parser.add_argument("--epoch_steps", type=int, default=0, help="cap the epoch's steps (0: the whole split)")
    parser.add_argument("--chunk_rows", type=int, default=1_000_000)
    parser.add_argument("--pipeline_seconds", type=float, default=20.0)
    parser.add_argument("--own_batches", type=int, default=50, help="the conversion's batches the step is timed on")
    parser.add_argument("--step_on", help=argparse.SUPPRESS)  # internal: time the step on a conversion, print it
    parser.add_argument("--smoke", action="store_true", help="CI: tiny sizes")
    add_write_flag(parser, "scale")
    args = parser.parse_args()
    if args.own_batches < 1:  # an empty cache repeated would make fit wait forever
        parser.error(f"--own_batches {args.own_batches}: at least 1 batch")
    if args.smoke:
        args.sizes, args.beam_size, args.epoch_size, args.epoch_steps = "20000,40000", 20000, 40000, 5
        args.chunk_rows, args.pipeline_seconds, args.own_batches = 15000, 1.0, 5
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(args.work or tempfile.mkdtemp(prefix="mezoo-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.step_on:  # a child of the run below, inside its hold on --work
        print(time_own_batches(work, Path(args.step_on), args.own_batches))
        return
    from mezoo.directory_lock import directory_lock
    from mezoo.errors import DirectoryBusy

    try:
        with directory_lock(work, "a scale benchmark", hint="wait for it, or pass another --work", name=".scale.lock"):
            measure(args, sizes, work)
    except DirectoryBusy as error:  # two runs on one --work would delete each other's run directories
        sys.exit(f"scale.py: {error}")


def measure(args, sizes: List[int], work: Path) -> None:
    """The curve, Beam, the epoch and its step comparisons, printed (and published with --write)."""
    with published(args.write, "The cost curve to Criteo Kaggle's size"):
        print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
        print(f"load average at the start (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        columns = ("rows", "generate s", "convert s", "rows/s", "s per M rows", "peak RSS", "vocab (ids)")
        print("| " + " | ".join(columns + ("distinct", "pipeline ex/s")) + " |")
        print("|---" * (len(columns) + 2) + "|")
        curve, conversions = [], {}
        for rows in sizes:
            raw, made = generated(work, rows, args.chunk_rows)
            c = converted(work, raw, rows)
            c["pipeline"] = pipeline_rate(c["out"], args.pipeline_seconds)
            curve.append(c)
            conversions[rows] = c["out"]
            print(
                f"| {rows:,} | {made:.0f} | {c['seconds']:.1f} | {c['rows_per_s']:,.0f} | "
                f"{1e6 * c['seconds'] / rows:.2f} | {gib(c['peak_rss'])} | {c['vocab_total']:,} | {c['distinct']:,} | "
                f"{c['pipeline']:,.0f} |",
                flush=True,
            )
        large = [c for c in curve if c["rows"] >= min(5_000_000, max(c["rows"] for c in curve))]
        per_row = [c["seconds"] / c["rows"] for c in large]
        print(
            f"\nconversion time per row from {large[0]['rows']:,} to {large[-1]['rows']:,} rows: largest / smallest "
            f"{max(per_row) / min(per_row):.2f} (goal: within 1.20); peak RSS at {curve[-1]['rows']:,} rows "
            f"{gib(curve[-1]['peak_rss'])} (goal: under 16 GiB)"
        )
        if args.beam_size:
            raw, _ = generated(work, args.beam_size, args.chunk_rows)
            b = beam_converted(work, raw, args.beam_size, args.beam_workers)
            print(
                f"beam DirectRunner, {args.beam_workers} workers, {args.beam_size:,} rows: {b['seconds']:.1f} s, "
                f"{b['rows_per_s']:,.0f} rows/s, peak RSS {gib(b['peak_rss'])}"
            )
        series = None
        if args.epoch_size:
            conversion = (
                conversions.get(args.epoch_size)
                or converted(work, generated(work, args.epoch_size, args.chunk_rows)[0], args.epoch_size)["out"]
            )
            e = epoch(work, conversion, args.epoch_steps or None)
            series = e["series"]
            rss = [r for _, r in series]
            quarter = max(1, len(rss) // 4)
            own = own_batches_rate(work, conversion, args.own_batches)
            step = step_rate()
            print(
                f"one epoch of DCNv2 SE 1x fast on {args.epoch_size:,} rows: {e['examples_per_s']:,.0f} examples/s "
                f"training; the same step on the conversion's first {args.own_batches} training batches in memory "
                f"{own:,.0f} examples/s: epoch / step {e['examples_per_s'] / own:.2f} (goal: within 10%); "
                f"benchmarks/train_step.py on uniform ids {step:,.0f} examples/s: epoch / step "
                f"{e['examples_per_s'] / step:.2f}; RSS over the run: first quarter median "
                f"{gib(sorted(rss[:quarter])[quarter // 2])}, last quarter median "
                f"{gib(sorted(rss[-quarter:])[quarter // 2])}, peak {gib(max(rss))} ({len(rss)} samples, "
                f"{e['seconds'] / 60:.1f} min)"
            )
        print(f"load average at the end (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if args.write:
            png = Path(args.write).with_suffix(".png")
            plot(curve, series, png)
            print(f"\n![the cost curve]({png.name})")


if __name__ == "__main__":
    main()
