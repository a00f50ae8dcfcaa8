"""Tiny finished DCNv2 runs (SE width 4, ME 2 sets x 2) on planted in-memory data, for the evidence tests."""

from mezoo.training.trainer import train
from tests.training import resumable_run

VOCAB = resumable_run.VOCAB

TINY = [
    "model.hidden_units=[8]",
    "model.num_cross_layers=1",
    "data.batch_size=256",
    "train.epochs=2",
    "train.early_stopping_patience=5",
    "train.jit_compile=false",
]


def source(rows=3000):
    """The resume tests' planted in-memory data, smaller."""
    return resumable_run.source(rows)


def train_pair(root):
    """Trains `root/se` (1 set x 4) and `root/me` (2 sets x 2) and returns their directories."""
    dirs = {}
    for name, sets, dim in (("se", 1, 4), ("me", 2, 2)):
        dirs[name] = root / name
        overrides = TINY + [f"model.num_embedding_sets={sets}", f"model.embedding_dim={dim}"]
        train("dcnv2_me_criteo", overrides, run_dir=dirs[name], source=source(), verbose=0)
    return dirs
