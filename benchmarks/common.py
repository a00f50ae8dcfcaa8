"""What the benchmarks share: Criteo's vocabulary sizes and the command line they print."""

import json
import os
import shlex
import sys
from pathlib import Path

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
