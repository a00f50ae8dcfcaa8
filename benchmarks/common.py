"""What the benchmarks share: data sets' vocabulary sizes, the peer's figures, the command line."""

import contextlib
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Optional

from tfrecord_tools.formats import AVAZU_COLUMNS

CRITEO_TOTAL_ROWS = 1_080_000
CRITEO_FIELDS = 39
STATS_KEY = "vocab_min_count_10_Criteo_x4_001"


def shared_data() -> Path:
    default = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    return Path(os.environ.get("MEZOO_SHARED_DATA", default))


def criteo_vocab_sizes():
    """The 39 Criteo vocabulary sizes from the shared statistics, else a uniform split."""
    path = shared_data() / "stats" / "criteo_kaggle_stats.json"
    try:
        sizes = json.loads(path.read_text())[STATS_KEY]
        sizes = [int(v) for v in (sizes.values() if isinstance(sizes, dict) else sizes)]
        if len(sizes) == CRITEO_FIELDS:
            return sizes, f"{path.name}:{STATS_KEY}"
    except (OSError, KeyError, ValueError, TypeError):
        pass
    return [CRITEO_TOTAL_ROWS // CRITEO_FIELDS] * CRITEO_FIELDS, "uniform"


def command_line() -> str:
    """The command as typed from the current directory, with the environment that matters."""
    env = [f"{k}={os.environ[k]}" for k in ("KERAS_BACKEND", "OPENBLAS_CORETYPE") if k in os.environ]
    python = os.path.relpath(sys.executable) if sys.executable.startswith(os.getcwd()) else sys.executable
    return shlex.join(env + [python] + sys.argv)


def _stats(name: str):
    try:
        return json.loads((shared_data() / "stats" / name).read_text())
    except (OSError, ValueError):
        return None


# Avazu as tfrecord_tools.avazu converts it: its columns less `id` (dropped) and `click` (the
# label), i.e. 22 categorical fields, `hour` raw.
AVAZU_FIELDS = [c for c in AVAZU_COLUMNS if c not in ("id", "click")]


def shape_vocab_sizes(shape: str):
    """(vocabulary sizes, where they came from) of a benchmark shape.

    - `criteo`: 39 fields, Criteo_x4's min-count-10 vocabularies (910,747 rows);
    - `avazu`: the Avazu converter's 22 fields, Avazu_x4's min-count-2 vocabularies where the
      field has one, `hour` its 240 raw values plus OOV (3.75 M rows);
    - `frappe`: Frappe_x1's 10 fields (5,399 rows with padding and OOV);
    - `small`: 8 fields, 3,500 rows (a small CSV data set).
    Without ../shared/data/stats, uniform splits of the same totals.
    """
    if shape == "criteo":
        return criteo_vocab_sizes()
    if shape == "avazu":
        stats = _stats("avazu_stats.json")
        if stats:
            vocab = stats["vocab_min_count_2_Avazu_x4_001"]
            return [int(vocab.get(f, 241)) for f in AVAZU_FIELDS], "avazu_stats.json:vocab_min_count_2_Avazu_x4_001"
        return [3_751_000 // 22] * 22, "uniform"
    if shape == "frappe":
        stats = _stats("frappe_x1_stats.json")
        if stats:
            return [int(v) for v in stats["vocab_incl_padding_oov"].values()], "frappe_x1_stats.json"
        return [540] * 10, "uniform"
    if shape == "small":
        return [1500, 800, 500, 300, 200, 100, 60, 40], "fixed"
    raise ValueError(f"unknown shape {shape!r}; choose criteo, avazu, frappe or small")


def peer_rates(path: str, mode: str) -> dict:
    """The official code's examples/s per config name, from `torch_me_bench.py --out` (same run)."""
    results = json.loads(Path(path).read_text())["results"]
    return {r["config"]: r["ex_per_s"] for r in results if r.get("mode") == mode and "error" not in r}


def add_write_flag(parser, name: str) -> None:
    """`--write PAGE`: the script's output also as a Markdown page (`docs/benchmarks/<name>.md`)."""
    parser.add_argument(
        "--write",
        nargs="?",
        const=str(Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / f"{name}.md"),
        default=None,
        metavar="PAGE",
        help=f"also write the output, with command, date, commit and machine, as a Markdown page "
        f"(default docs/benchmarks/{name}.md)",
    )


class _Tee:
    """stdout that also keeps what passes through it."""

    def __init__(self, stream):
        self.stream, self.parts = stream, []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name):
        return getattr(self.stream, name)


@contextlib.contextmanager
def published(page: Optional[str], title: str):
    """Runs the block; with a `page`, writes what it printed there once it succeeds (`page_text`)."""
    if not page:
        yield
        return
    tee = _Tee(sys.stdout)
    sys.stdout = tee
    try:
        yield
    finally:
        sys.stdout = tee.stream
    Path(page).parent.mkdir(parents=True, exist_ok=True)
    from mezoo.atomic import atomic_write

    atomic_write(page, page_text(title, "".join(tee.parts)))
    print(f"wrote {page}", flush=True)


def page_text(title: str, output: str) -> str:
    """A benchmark page: where its figures came from, then the output (tables as tables, the rest as text)."""
    from mezoo.evidence.provenance import git_commit, machine

    versions = [f"python {platform.python_version()}"]
    for package in ("tensorflow", "keras", "numpy", "pyarrow", "apache_beam", "jax"):
        module = sys.modules.get(package)
        if module is not None and getattr(module, "__version__", None):
            versions.append(f"{package} {module.__version__}")
    lines = [
        f"# {title}",
        "",
        "Written by the benchmark script with `--write`; never edited by hand. Figures from one run on the",
        "machine below: compare only ratios measured in the same run.",
        "",
        f"- command: `{command_line()}`",
        f"- date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- commit: {git_commit() or 'unknown'}",
        f"- machine: {machine()}",
        f"- versions: {', '.join(versions)}",
        "",
    ]
    block: list = []

    def flush_text() -> None:
        if block:
            lines.extend(["```text", *block, "```", ""])
            block.clear()

    table = False
    for line in output.splitlines():
        if line.startswith("|"):
            flush_text()
            table = True
            lines.append(line)
            continue
        if table:
            lines.append("")
            table = False
        if line.strip():
            block.append(line)
    flush_text()
    return "\n".join(lines).rstrip() + "\n"


def row_in_subprocess(script: str, spec: dict, env: dict, what: str):
    """Runs `script --row SPEC` (one benchmark cell in a fresh process): (its last JSON line, its stderr).
    Raises naming `what` with the end of stderr if the cell fails."""
    result = subprocess.run(
        [sys.executable, script, "--row", json.dumps(spec)], capture_output=True, text=True, env=env
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"row {what} failed:\n{result.stderr[-3000:]}")
    return json.loads(lines[-1]), result.stderr


def epoch_timer(times: list):
    """A Keras callback that appends each epoch's wall seconds to `times`."""
    import time

    import keras

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    return EpochTimer()


def timed_fit(model, data, seconds: float, repeats: int) -> dict:
    """Times `model.fit` over `data` (an endless dataset): an untimed epoch that traces and
    compiles, a two-step estimate of the step, then `repeats` epochs of about `seconds` each.
    Returns the median step's seconds, each timed epoch's seconds per step, and the first epoch's."""
    import statistics

    times: list = []

    def fit(steps, epochs):
        model.fit(data, steps_per_epoch=steps, epochs=epochs, verbose=0, callbacks=[epoch_timer(times)])

    fit(1, 1)
    first = times.pop()
    fit(2, 1)
    steps = max(1, min(50, round(seconds / (times.pop() / 2))))
    fit(steps, repeats)
    return {"step_s": statistics.median(times) / steps, "steps": [t / steps for t in times], "first_epoch_s": first}
