"""Callbacks the trainer runs inside each epoch's `fit`: progress and mid-epoch backups."""

import sys
import time
from typing import Optional

import keras

from mezoo.training.run_state import optimizer_step


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class ThroughputProgbar(keras.callbacks.Callback):
    """A progress bar with the loss and training examples/s; one line per epoch when stdout is no terminal."""

    def __init__(self, steps: int, batch_size: int, epoch: int, epochs: int, verbose: int = 1):
        super().__init__()
        self.steps, self.batch_size, self.epoch, self.epochs, self.verbose = steps, batch_size, epoch, epochs, verbose
        self.examples_per_sec = float("nan")

    def on_train_begin(self, logs=None):
        if self.verbose:
            print(f"Epoch {self.epoch + 1}/{self.epochs}", flush=True)
        # Redrawing a bar into a file or pipe fills a log with every redraw: there, one line at
        # the epoch's end (Keras' Progbar verbose=2).
        verbose = self.verbose if not self.verbose or _is_terminal(sys.stdout) else 2
        self.bar = keras.utils.Progbar(self.steps, verbose=verbose, stateful_metrics=["loss", "examples/s"])
        self.start, self.seen = time.perf_counter(), 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen = batch + 1
        self.examples_per_sec = self.seen * self.batch_size / max(time.perf_counter() - self.start, 1e-9)
        values = [("examples/s", self.examples_per_sec)]
        if logs and "loss" in logs:
            values.insert(0, ("loss", float(logs["loss"])))
        self.bar.update(self.seen, values=values)


class StepBackup(keras.callbacks.Callback):
    """Writes the run's backup every `every_steps` optimizer steps, mid-epoch included."""

    def __init__(self, backup, state, every_steps: Optional[int], first_step_in_epoch: int):
        super().__init__()
        self.backup, self.state, self.every = backup, state, int(every_steps or 0)
        self.first = first_step_in_epoch
        # the loss summed over the epoch's steps before a resume (None: unknown, an older backup)
        self.carried_loss = state.epoch_loss_sum if first_step_in_epoch else 0.0

    def on_train_batch_end(self, batch, logs=None):
        if self.every and optimizer_step(self.model) % self.every == 0:
            self.state.step_in_epoch = self.first + batch + 1
            # `loss` is the mean over this fit's steps so far
            if self.carried_loss is not None:
                self.state.epoch_loss_sum = self.carried_loss + float((logs or {}).get("loss", 0.0)) * (batch + 1)
            self.backup.save(self.model, self.state)
