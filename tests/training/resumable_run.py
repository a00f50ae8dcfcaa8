"""A small trainer run on planted in-memory data, for the resume tests (run as a script)."""

import json
import os
import sys
import zipfile
from pathlib import Path

from mezoo import recipe as recipes
from mezoo.command import run_cli
from mezoo.data.planted import planted_click_log
from mezoo.metrics import auc
from mezoo.training.in_memory_source import InMemorySource
from mezoo.training.trainer import train

VOCAB = [20, 30, 10, 15, 25]
OVERRIDES = [
    "model.num_embedding_sets=2",
    "model.hidden_units=[16, 16]",
    "data.batch_size=256",
    "train.epochs=2",
    "train.early_stopping_patience=5",
    "train.backup_every_steps=5",
]


def source(rows=12000):
    ids, clicks, prob = planted_click_log(rows, VOCAB, seed=1)
    a, b = int(rows * 0.8), int(rows * 0.9)
    splits = {"train": (0, a), "valid": (a, b), "test": (b, rows)}
    return InMemorySource(
        [(f"f{i}", v) for i, v in enumerate(VOCAB)],
        {k: ({"ids": ids[i:j]}, clicks[i:j]) for k, (i, j) in splits.items()},
        synthetic=True,
        planted_auc=auc(clicks[b:], prob[b:]),
    )


def fake_run_dir(run_dir: Path, data: str = "data/criteo") -> None:
    """A run directory as this run's recipe records one, trained on `data`, whose model.keras is no model."""
    run_dir.mkdir(exist_ok=True)
    (run_dir / "recipe.yaml").write_text(recipes.dump(recipes.load("dnn_me_criteo", OVERRIDES)))
    (run_dir / "run.json").write_text(json.dumps({"data": data}))
    with zipfile.ZipFile(run_dir / "model.keras", "w") as z:
        z.writestr("config.json", "{}" * 5000)
        z.writestr("model.weights.h5", os.urandom(20000))


if __name__ == "__main__":  # RUN_DIR [extra overrides...]; failures reported as the commands report them
    run_cli(lambda: train("dnn_me_criteo", OVERRIDES + sys.argv[2:], run_dir=sys.argv[1], source=source()))
