"""Whether a training curve has flattened: the loss's change over the last part of a run."""

from typing import Sequence

import numpy as np


def late_loss_change(steps: Sequence[int], losses: Sequence[float], fraction: float = 0.1) -> float:
    """The loss's relative change over the last `fraction` of a run's steps (converged: under 1%).

    From the last record at or before step `(1 - fraction) * final step` to the final record;
    NaN when no record lies that early.
    """
    order = np.argsort(np.asarray(steps))
    steps_sorted = np.asarray(steps)[order]
    losses_sorted = np.asarray(losses, dtype=float)[order]
    earlier = np.flatnonzero(steps_sorted <= (1 - fraction) * steps_sorted[-1])
    if not len(earlier):
        return float("nan")
    before = losses_sorted[earlier[-1]]
    return float(abs(before - losses_sorted[-1]) / max(before, 1e-12))


CONVERGED_BELOW = 0.01


def state(change: float) -> str:
    """`late_loss_change` in words: "converged" below `CONVERGED_BELOW`, else "not converged"."""
    return "converged" if change < CONVERGED_BELOW else "not converged"
