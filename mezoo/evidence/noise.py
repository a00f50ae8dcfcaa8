"""How sure a difference is: the spread over seeds and the sampling error of the test rows, together.

Two sources of noise separate a measured difference from the true one:

- **seeds**: the same cell trained with another seed ends elsewhere. The spread of a cell's
  figure over its seeds is its sample standard deviation (ddof = 1); the difference of two
  cells' means has variance `s_a^2 / n_a + s_b^2 / n_b` (Welch);
- **test rows**: an AUC measured on a finite test set would move on another draw of the rows.
  Every run keeps its test predictions (`mezoo.training.predictions`), so the rows are
  resampled with replacement (`PairedAUC`, B replicates, the same resampled rows for every run:
  paired) and the variance of the difference of the two cells' mean AUCs over the replicates
  is its test-row variance.

`auc_difference` adds the two variances; the 95% interval is `estimate ± t * sqrt(total)` with
Welch-Satterthwaite degrees of freedom (the test-row part counted as exact). A difference is
*shown* when the interval excludes zero: a one-sided test at 2.5% in the direction of the
estimate. With one seed in a cell there is no seed variance to estimate: no interval, never
shown. Figures that do not depend on test rows (abundance) use the seed part alone
(`welch_interval`).

Each interval also carries its standard error and degrees of freedom, hence a p-value and the
minimum detectable effect (`mde`: the true difference the test would show with 80% power), and
`holm` corrects the "shown" of a family of tests for their number (Holm's step-down method at
a family-wise 5%, two-sided), keeping every interval as it was.

Example:
>>> interval = welch_interval([0.9851, 0.9856, 0.9849], [0.9838, 0.9841, 0.9836])
>>> interval.shown, round(interval.estimate, 5)
(1, 0.00137)
"""

import dataclasses
import math
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

LEVEL = 0.95


@dataclasses.dataclass(frozen=True)
class Interval:
    """A difference `a - b` and its 95% interval (`low`, `high` None when there is none, with `why`).

    `se` and `df` are the difference's standard error and degrees of freedom (infinite: a normal
    interval); `adjusted` is the sign a multiple-test correction left it (`holm`), None before one.
    """

    estimate: float
    low: Optional[float]
    high: Optional[float]
    n: tuple
    why: str = ""
    se: Optional[float] = None
    df: float = math.inf
    adjusted: Optional[int] = None

    @property
    def shown_alone(self) -> Optional[int]:
        """+1: the interval lies above zero; -1: below; 0: it covers zero; None: no interval."""
        if self.low is None or self.high is None:
            return None
        return 1 if self.low > 0 else -1 if self.high < 0 else 0

    @property
    def shown(self) -> Optional[int]:
        """`shown_alone`, or after a correction for multiple tests the sign it left (0: no longer shown)."""
        alone = self.shown_alone
        return alone if self.adjusted is None or alone is None else self.adjusted

    @property
    def p_value(self) -> Optional[float]:
        """Two-sided p-value of `estimate` against zero (None without a standard error)."""
        if self.se is None or self.low is None:
            return None
        if self.se == 0:
            return 0.0 if self.estimate != 0 else 1.0
        from scipy import stats

        return float(2 * stats.t.sf(abs(self.estimate) / self.se, self.df))

    def mde(self, power: float = 0.8, level: float = LEVEL) -> Optional[float]:
        """The smallest true difference this test shows with probability `power` (at its own level)."""
        if self.se is None or self.low is None:
            return None
        from scipy import stats

        beta = float(stats.t.ppf(power, self.df)) if math.isfinite(self.df) else float(stats.norm.ppf(power))
        return (_t_quantile(self.df, level) + beta) * self.se

    def detail(self, digits: int = 5) -> str:
        """`text()`, then the minimum detectable effect and a note when a correction unshowed it."""
        mde = self.mde()
        extra = f", MDE {mde:.{digits}f}" if mde is not None else ""
        if self.shown_alone and self.shown == 0:
            extra += ", not shown after Holm's correction"
        return self.text(digits) + extra

    def text(self, digits: int = 5) -> str:
        """`+0.00137 [+0.00060, +0.00214]`, or the estimate and why it has no interval."""
        if self.low is None or self.high is None:
            return f"{self.estimate:+.{digits}f} (no interval: {self.why})"
        return f"{self.estimate:+.{digits}f} [{self.low:+.{digits}f}, {self.high:+.{digits}f}]"


def _t_quantile(df: float, level: float = LEVEL) -> float:
    from scipy import stats

    return float(stats.t.ppf(0.5 + level / 2, df)) if math.isfinite(df) else float(stats.norm.ppf(0.5 + level / 2))


def welch_interval(
    a: Sequence[float], b: Sequence[float], extra_variance: float = 0.0, level: float = LEVEL
) -> Interval:
    """`mean(a) - mean(b)` with a Welch t interval, plus `extra_variance` (counted with infinite df).

    Args:
        a, b: one figure per seed of each cell (None values are dropped).
        extra_variance: a further variance of the difference known exactly (the test rows').
        level: the interval's coverage.
    """
    a = [float(x) for x in a if x is not None]
    b = [float(x) for x in b if x is not None]
    if not a or not b:
        return Interval(float("nan"), None, None, (len(a), len(b)), "a cell has no finished seed")
    estimate = float(np.mean(a) - np.mean(b))
    if len(a) < 2 or len(b) < 2:
        return Interval(estimate, None, None, (len(a), len(b)), f"n = {min(len(a), len(b))} seed")
    va, vb = float(np.var(a, ddof=1)) / len(a), float(np.var(b, ddof=1)) / len(b)
    total = va + vb + float(extra_variance)
    if total <= 0:
        return Interval(estimate, estimate, estimate, (len(a), len(b)), se=0.0)
    seeds = va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)
    df = total**2 / seeds if seeds > 0 else math.inf
    half = _t_quantile(df, level) * math.sqrt(total)
    return Interval(estimate, estimate - half, estimate + half, (len(a), len(b)), se=math.sqrt(total), df=df)


def summary_interval(a: Tuple[float, Optional[float], int], b: Tuple[float, Optional[float], int]) -> Interval:
    """`welch_interval` from each side's `(mean, sd, n)` (sd with ddof = 1) where only these are published.

    A side with sd 0 is a fixed value (a single published figure, say): it adds no variance and no
    degrees of freedom. A side of one value with an unknown sd (None) leaves no interval.
    """
    (mean_a, sd_a, n_a), (mean_b, sd_b, n_b) = a, b
    estimate, n = float(mean_a - mean_b), (int(n_a), int(n_b))
    sides = [(sd_a, int(n_a)), (sd_b, int(n_b))]
    if any(sd is None or (n < 2 and sd != 0) for sd, n in sides):
        return Interval(estimate, None, None, n, f"n = {min(n)} seed")
    variances = [(float(sd) ** 2 / n, n) for sd, n in sides if sd]
    total = sum(v for v, _ in variances)
    if total <= 0:
        return Interval(estimate, estimate, estimate, n, se=0.0)
    df = total**2 / sum(v**2 / (size - 1) for v, size in variances)
    half = _t_quantile(df) * math.sqrt(total)
    return Interval(estimate, estimate - half, estimate + half, n, se=math.sqrt(total), df=df)


class PairedAUC:
    """AUCs of prediction vectors on one set of labelled rows, and of `replicates` resamplings of them.

    The rows are resampled once (counts of each row in each replicate, with replacement), and
    every vector is scored on the same replicates, so differences between vectors are paired.
    Ties count one half, as in the exact AUC.

    Args:
        labels: 0/1 per row.
        replicates: bootstrap replicates B (0: only the exact AUC).
        seed: seed of the resampling (the intervals are a deterministic function of the data).
    """

    def __init__(self, labels, replicates: int = 1000, seed: int = 0):
        self.labels = np.asarray(labels, dtype=np.float64).reshape(-1) > 0.5
        n = len(self.labels)
        if n == 0 or self.labels.all() or not self.labels.any():
            raise ValueError("an AUC needs both positive and negative rows")
        rng = np.random.default_rng(seed)
        counts = [np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(replicates)]
        self.counts = np.stack(counts).astype(np.float32) if counts else np.zeros((0, n), np.float32)

    def auc(self, scores) -> float:
        """The exact AUC of `scores`."""
        return float(self._weighted(np.asarray(scores).reshape(-1), np.ones((1, len(self.labels)), np.float32))[0])

    def replicate_aucs(self, scores) -> np.ndarray:
        """The AUC of `scores` on each replicate (B values)."""
        return self._weighted(np.asarray(scores).reshape(-1), self.counts)

    def _weighted(self, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
        if len(scores) != len(self.labels):
            raise ValueError(f"{len(scores)} scores for {len(self.labels)} labelled rows")
        order = np.argsort(scores, kind="mergesort")
        ranked = scores[order]
        starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])  # tie groups, ascending
        positive = self.labels[order]
        w = weights[:, order]
        pos = np.add.reduceat(np.where(positive, w, 0.0), starts, axis=1, dtype=np.float64)
        neg = np.add.reduceat(np.where(positive, 0.0, w), starts, axis=1, dtype=np.float64)
        below = np.cumsum(neg, axis=1) - neg  # negative weight strictly below each group
        pairs = pos.sum(axis=1) * neg.sum(axis=1)
        return np.sum(pos * (below + 0.5 * neg), axis=1) / pairs


def auc_difference(bootstrap: PairedAUC, a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> Interval:
    """mean over seeds of cell a's test AUC minus cell b's, with seeds' and test rows' noise.

    Args:
        bootstrap: the test rows' labels and replicates.
        a, b: each seed's test predictions of the two cells (on the bootstrap's rows, in order).
    """
    if not a or not b:
        return welch_interval([], [])
    replicates = np.mean([bootstrap.replicate_aucs(p) for p in a], axis=0) - np.mean(
        [bootstrap.replicate_aucs(p) for p in b], axis=0
    )
    rows = float(np.var(replicates, ddof=1))
    return welch_interval([bootstrap.auc(p) for p in a], [bootstrap.auc(p) for p in b], extra_variance=rows)


def paired_interval(differences: Sequence[float], extra_variance: float = 0.0) -> Interval:
    """The mean of per-seed differences with a t interval over seeds, plus `extra_variance` (the test rows',
    counted with infinite df; Satterthwaite's df for the sum).

    Example:
    >>> paired_interval([0.001, 0.003]).text()
    '+0.00200 [-0.01071, +0.01471]'
    """
    n = len(differences)
    estimate = float(np.mean(differences)) if n else float("nan")
    if n < 2:
        return Interval(estimate, None, None, (n, n), f"n = {n} seed")
    seeds = float(np.var(differences, ddof=1)) / n
    total = seeds + float(extra_variance)
    if total <= 0:
        return Interval(estimate, estimate, estimate, (n, n), se=0.0)
    df = total**2 / (seeds**2 / (n - 1)) if seeds > 0 else math.inf
    half = _t_quantile(df) * math.sqrt(total)
    return Interval(estimate, estimate - half, estimate + half, (n, n), se=math.sqrt(total), df=df)


def fixed_noise_interval(difference: float, half_width: float) -> Interval:
    """A difference known only as a mean, with a stated 95% half-width (a normal interval)."""
    se = half_width / _t_quantile(math.inf)
    return Interval(float(difference), difference - half_width, difference + half_width, (0, 0), se=se)


def means_interval(difference: float, sd: float, runs: int) -> Interval:
    """The difference of two means of `runs` runs each, every run with standard deviation `sd` (a normal
    interval: the paper's tables give 3-run means and a per-run sd of 2e-5 to 5e-4)."""
    return fixed_noise_interval(difference, _t_quantile(math.inf) * sd * math.sqrt(2.0 / runs))


def holm(intervals: Dict[Any, Interval], alpha: float = 1 - LEVEL) -> Dict[Any, Interval]:
    """The family's intervals with `adjusted` set by Holm's step-down method (family-wise error `alpha`).

    Sorted by p-value, the i-th smallest (from 0) is shown only if p <= alpha / (m - i) and every
    smaller one was; the rest are not shown (`adjusted` 0). Intervals without a p-value are left
    as they are. With one test this is the uncorrected rule.

    Example:
    >>> family = {n: fixed_noise_interval(d, 1e-3) for n, d in (("a", 3e-3), ("b", 1.1e-3), ("c", 1.05e-3))}
    >>> {k: (v.shown_alone, v.shown) for k, v in holm(family).items()}
    {'a': (1, 1), 'b': (1, 0), 'c': (1, 0)}
    """
    tested = sorted((i.p_value, key) for key, i in intervals.items() if i.p_value is not None)
    out = dict(intervals)
    still = True
    for rank, (p, key) in enumerate(tested):
        still = still and p <= alpha / (len(tested) - rank)
        interval = intervals[key]
        out[key] = dataclasses.replace(interval, adjusted=interval.shown_alone if still else 0)
    return out


def mean_sd(values: Sequence[Optional[float]], digits: int = 5) -> str:
    """`mean ± sd (n)` of the values that are not None, sd with ddof = 1; one value: `(n = 1)`, none: `-`.

    Example:
    >>> mean_sd([0.98, 0.99, 1.0], 3), mean_sd([0.5], 2), mean_sd([None])
    ('0.990 ± 0.010 (3)', '0.50 (n = 1)', '-')
    """
    present = [v for v in values if v is not None]
    if not present:
        return "-"
    if len(present) == 1:
        return f"{present[0]:.{digits}f} (n = 1)"
    return f"{np.mean(present):.{digits}f} ± {np.std(present, ddof=1):.{digits}f} ({len(present)})"
