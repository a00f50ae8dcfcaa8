"""The rules a run applies to each epoch's validation AUC: plateau cuts, early stopping, best epoch.

Pure Python (no TensorFlow): the trainer calls `StoppingRules.after_epoch` once per epoch and
acts on the returned `EpochDecision` (keep the best weights, set the learning rate, print).
The rules keep their state in the run's `RunState` (its `best_val_auc`, `best_epoch`,
`stop_wait`, `plateau_wait`, `learning_rate` and `finished`), so a resumed run continues
them where its backup left them.

Example:
    >>> rules = StoppingRules(patience=2, reduce_lr_factor=0.1, reduce_lr_patience=1, min_learning_rate=1e-4)
    >>> state = StoppingState(learning_rate=1e-3)
    >>> rules.after_epoch(state, epoch=0, val_auc=0.70).improved
    True
    >>> decision = rules.after_epoch(state, epoch=1, val_auc=0.69)
    >>> decision.learning_rate_cut, state.learning_rate, decision.stop
    (True, 0.0001, False)
    >>> rules.after_epoch(state, epoch=2, val_auc=0.69).stop, state.best_epoch
    (True, 0)
"""

import dataclasses
from typing import Optional, Protocol


class StoppingStateLike(Protocol):
    """The fields of a run's state the rules read and update (`RunState` has them)."""

    best_val_auc: Optional[float]
    best_epoch: Optional[int]
    stop_wait: int
    plateau_wait: int
    learning_rate: Optional[float]
    finished: bool


@dataclasses.dataclass
class StoppingState:
    """A stand-alone state for the rules (the trainer uses its `RunState`, which has the same fields)."""

    best_val_auc: Optional[float] = None
    best_epoch: Optional[int] = None
    stop_wait: int = 0
    plateau_wait: int = 0
    learning_rate: Optional[float] = None
    finished: bool = False


@dataclasses.dataclass(frozen=True)
class EpochDecision:
    """What the rules decided after one epoch.

    Args:
        improved: the epoch's validation AUC is the best so far: keep its weights.
        learning_rate_cut: a plateau cut was applied (the rate may have stayed at its floor).
        previous_learning_rate: the rate before the cut (None without a cut).
        stop: early stopping: no better validation AUC for `patience` epochs.
    """

    improved: bool
    learning_rate_cut: bool = False
    previous_learning_rate: Optional[float] = None
    stop: bool = False


@dataclasses.dataclass(frozen=True)
class StoppingRules:
    """Plateau learning-rate cuts and early stopping on validation AUC (higher is better).

    Args:
        patience: epochs without a better validation AUC after which the run stops.
        reduce_lr_factor: multiplies the learning rate after `reduce_lr_patience` epochs without
            a better validation AUC; None or 0: no cuts.
        reduce_lr_patience: epochs without improvement before a cut; None or 0: no cuts.
        min_learning_rate: floor of the cuts; None: 0.
    """

    patience: int
    reduce_lr_factor: Optional[float] = None
    reduce_lr_patience: Optional[int] = None
    min_learning_rate: Optional[float] = None

    def after_epoch(self, state: StoppingStateLike, epoch: int, val_auc: float) -> EpochDecision:
        """Updates `state` for an epoch (0-based `epoch`) that reached `val_auc`; returns the decision."""
        if state.best_val_auc is None or val_auc > state.best_val_auc:
            state.best_val_auc, state.best_epoch, state.stop_wait, state.plateau_wait = val_auc, epoch, 0, 0
            return EpochDecision(improved=True)
        state.stop_wait += 1
        state.plateau_wait += 1
        cut, previous = False, None
        if self.reduce_lr_factor and self.reduce_lr_patience and state.plateau_wait >= int(self.reduce_lr_patience):
            cut, previous = True, state.learning_rate
            state.learning_rate = max(
                float(previous or 0.0) * float(self.reduce_lr_factor), float(self.min_learning_rate or 0.0)
            )
            state.plateau_wait = 0
        stop = state.stop_wait >= self.patience
        if stop:
            state.finished = True
        return EpochDecision(improved=False, learning_rate_cut=cut, previous_learning_rate=previous, stop=stop)
