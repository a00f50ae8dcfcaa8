"""The state a run needs to resume: written atomically, keyed on the optimizer's step."""

import contextlib
import dataclasses
import datetime
import json
import os
from pathlib import Path
from typing import Iterator, List, Optional

import keras
import numpy as np

from mezoo.atomic import atomic_write
from mezoo.disk_full import ensure_room
from mezoo.run_layout import RunDirectory


def utc_now() -> str:
    """The time now in UTC, ISO 8601 to the second: `2026-12-02T06:09:14+00:00`."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


@dataclasses.dataclass
class RunState:
    """Where training stands, and the plateau / early-stopping / best-weights bookkeeping.

    `step` is the optimizer's iteration count when the backup was written; `epoch` and
    `step_in_epoch` say where to continue; `best_*` and the two `wait` counters are the
    stopping rules' state; `epochs` the per-epoch records already in metrics.json.
    `epoch_loss_sum` is the sum of the training losses of the `step_in_epoch` steps already
    done in the current epoch (so a resumed epoch reports its loss over all its steps), and
    `seed_states` the model's random seed generators (dropout masks) at the backup's step, so
    that a resumed run draws what the uninterrupted one would have. `started_at` is when the run
    first started (a resume keeps it; None in a backup of an older version, which didn't keep it),
    `finished_at` when it ended (`run_directory.write_metrics`), both UTC ISO times.
    """

    step: int = 0
    epoch: int = 0
    step_in_epoch: int = 0
    best_val_auc: Optional[float] = None
    best_epoch: Optional[int] = None
    stop_wait: int = 0
    plateau_wait: int = 0
    learning_rate: Optional[float] = None
    finished: bool = False
    epochs: List[dict] = dataclasses.field(default_factory=list)
    epoch_loss_sum: Optional[float] = 0.0  # None: a backup of an older version, which didn't keep it
    seed_states: List[List[int]] = dataclasses.field(default_factory=list)
    started_at: Optional[str] = dataclasses.field(default_factory=utc_now)
    finished_at: Optional[str] = None


@contextlib.contextmanager
def removed_on_failure(path: Path) -> Iterator[None]:
    """A weights file written in the block is removed if the block fails (a full disk, say)."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise


def room_for_weights(model, previous: Path) -> int:
    """Bytes to have free before writing `model`'s weights (and its optimizer's) beside `previous`:
    the previous file's size if there is one, else the variables' bytes, with a margin."""
    try:
        size = previous.stat().st_size
    except OSError:
        variables = list(model.weights) + list(getattr(model.optimizer, "variables", []) or [])
        size = sum(
            int(np.prod(v.shape)) * np.dtype(keras.backend.standardize_dtype(v.dtype)).itemsize for v in variables
        )
    return int(size * 1.1) + (1 << 20)


def disk_full_message(run_dir: Path) -> str:
    return (
        f"no space left on the disk of {run_dir}: free some (the backup, state and weights already written are "
        "whole), then run the same command again to resume"
    )


def optimizer_step(model) -> int:
    """The optimizer's iteration count (a plain or a tf.distribute variable)."""
    return int(keras.ops.convert_to_numpy(model.optimizer.iterations))


def seed_generator_states(model) -> list:
    """The state variables of the model's `keras.random.SeedGenerator`s, in the model's variable order.

    `save_weights` leaves them out, so a model restored from weights alone draws its dropout
    masks again from the start of the stream.
    """
    return [v for v in model.variables if v.name == "seed_generator_state"]


class Backup:
    """A run's resumable backup: `backup/state.json` plus `backup/weights.weights.h5`.

    Model and optimizer variables go to a temporary file that is renamed into place before
    the state that names its step, so a kill at any moment leaves either the previous
    backup or the new one, never a mix: the state records the step of the weights it
    belongs to and `load` refuses a mismatch.

    `restore_from`: the run directory `load` reads, when it isn't `run_dir` (a multi-worker
    run's other workers write to a scratch directory but resume from the chief's backup).
    """

    def __init__(self, run_dir: Path, restore_from: Optional[Path] = None):
        self.dir = RunDirectory(run_dir).backup
        self.state_path = self.dir / "state.json"
        self.weights_path = self.dir / "weights.weights.h5"
        self.best_path = RunDirectory(run_dir).best_weights
        self.restore_dir = RunDirectory(restore_from).backup if restore_from else self.dir

    def save(self, model, state: RunState) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        state.step = optimizer_step(model)
        state.seed_states = [
            [int(x) for x in keras.ops.convert_to_numpy(v).reshape(-1)] for v in seed_generator_states(model)
        ]
        tmp = self.dir / f".weights-{os.getpid()}.weights.h5"
        ensure_room(self.dir, room_for_weights(model, self.weights_path), disk_full_message(self.dir.parent))
        with removed_on_failure(tmp):
            model.save_weights(tmp)
            os.replace(tmp, self.weights_path)
        atomic_write(self.state_path, json.dumps(dataclasses.asdict(state), indent=1))

    def save_best(self, model) -> None:
        tmp = self.best_path.with_name(f".best-{os.getpid()}.weights.h5")
        ensure_room(self.best_path.parent, room_for_weights(model, self.best_path), disk_full_message(self.dir.parent))
        with removed_on_failure(tmp):
            model.save_weights(tmp)
            os.replace(tmp, self.best_path)

    def load(self, model) -> Optional[RunState]:
        """The saved state, with `model` (and its optimizer) restored; None without a backup."""
        state_path = self.restore_dir / self.state_path.name
        if not state_path.exists():
            return None
        saved = json.loads(state_path.read_text())
        saved.setdefault("epoch_loss_sum", None)
        saved.setdefault("started_at", None)
        state = RunState(**saved)
        if not model.optimizer.built:
            # Under tf.distribute, optimizer variables must be created in the model's strategy scope.
            strategy = getattr(model, "distribute_strategy", None)
            with strategy.scope() if strategy is not None else contextlib.nullcontext():
                model.optimizer.build(model.trainable_variables)
        model.load_weights(self.restore_dir / self.weights_path.name)
        if optimizer_step(model) != state.step:
            raise RuntimeError(
                f"backup in {self.restore_dir} is inconsistent: weights at step {optimizer_step(model)}, "
                f"state at step {state.step}; delete the folder to start over"
            )
        generators = seed_generator_states(model)
        if state.seed_states and len(state.seed_states) != len(generators):
            raise RuntimeError(
                f"backup in {self.restore_dir} holds {len(state.seed_states)} random seed states, "
                f"the model has {len(generators)}: is it the same model?"
            )
        for variable, values in zip(generators, state.seed_states):
            variable.assign(keras.ops.cast(keras.ops.reshape(values, variable.shape), variable.dtype))
        return state
