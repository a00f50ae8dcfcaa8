"""What `Trainer.set_up` builds for one run, and the epoch and finish steps take: `ActiveRun`."""

import dataclasses
from pathlib import Path
from typing import Any

from mezoo.abundance import AbundanceTracker
from mezoo.run_layout import RunDirectory
from mezoo.training.data_source import DataSource
from mezoo.training.run_state import Backup, RunState
from mezoo.training.stopping import StoppingRules


@dataclasses.dataclass
class ActiveRun:
    """What `Trainer.set_up` builds for one run and the epoch and finish steps use.

    Attributes:
        run_dir: where this process writes (a scratch directory on a multi-worker run's
            non-chief workers).
        source: the run's data.
        model: the compiled model, built in `strategy`'s scope.
        strategy: the placement (`mezoo.training.placement`): a `tf.distribute` strategy on
            TensorFlow, a Keras distribution on JAX.
        loop: the custom training loop, where the run needs one (else None: `fit`).
        chief: whether this process writes the run directory.
        worker: the process's role, for messages (`worker 0`, `chief 0`).
        backup: the resumable backup (`mezoo.training.run_state.Backup`).
        state: where training stands (restored from the backup, or new).
        abundance: measures the tables after each epoch.
        tensorboard: Keras' TensorBoard callback for the training curves.
        rules: the plateau / early-stopping rules.
        steps_per_epoch: optimizer steps per epoch.
        batch_size: rows per training step (global, across replicas).
        epochs: epochs to train (the built-in sample's cap applied).
    """

    run_dir: Path
    source: DataSource
    model: Any
    strategy: Any
    loop: Any
    chief: bool
    worker: str
    backup: Backup
    state: RunState
    abundance: AbundanceTracker
    tensorboard: Any
    rules: StoppingRules
    steps_per_epoch: int
    batch_size: int
    epochs: int

    @property
    def metrics_path(self) -> Path:
        return RunDirectory(self.run_dir).metrics
