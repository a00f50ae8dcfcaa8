"""What the benchmarks share: data sets' vocabulary sizes, the peer's figures, the command line."""

import json
import os
import shlex
import sys
from pathlib import Path

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
