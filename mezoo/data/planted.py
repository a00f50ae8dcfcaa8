"""The planted click model: the one generator of labelled CTR data with a known ceiling.

A planted model puts most of its signal in field-pair interactions, so a learner that only
adds up per-field effects cannot reach its AUC. Over ids `x_f` of F fields,

    logit = b + s * (a / sqrt(F) * sum_f w_f[x_f] + sum_{(f,g) in P} <u_f[x_f], u_g[x_g]> / sqrt(2|P|))

with standard-normal first-order weights `w_f` and 4-dim factors `u_f`, a random set P of
field pairs, a signal scale s, a first-order weight a and a bias b fitted (on the first rows
scored) to a target positive rate. Labels are Bernoulli draws of `sigmoid(logit)`, so the
planted model's own AUC is the ceiling a learner is measured against.

`tfrecord_tools.synthetic` writes files in the raw Criteo / Avazu / Frappe formats with it
(the built-in sample of `python -m mezoo.train`); `planted_click_log` draws an in-memory log
of ids and clicks with it, for tests and the demo.
"""

import math
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

FACTOR_DIM = 4


def zipf_probabilities(k: int, top1: Optional[float] = None, s: float = 1.1) -> npt.NDArray[Any]:
    """Zipf-like probabilities of `k` values: exponent `s`, or the one whose top value has share `top1`."""
    ranks = np.arange(1, k + 1, dtype=np.float64)
    if top1 is not None and k > 1:
        lo, hi = 0.0, 8.0
        for _ in range(60):  # bisection on the exponent for the top value's share
            s = (lo + hi) / 2
            p = ranks**-s
            if p[0] / p.sum() < top1:
                lo = s
            else:
                hi = s
    p = ranks**-s
    return np.asarray(p / p.sum(), dtype=np.float64)


def sample(rng: np.random.Generator, probs: npt.NDArray[Any], n: int) -> npt.NDArray[Any]:
    """`n` draws of value indices with probabilities `probs` (inverse CDF of uniform draws)."""
    cdf = np.cumsum(probs)
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(probs) - 1).astype(np.int64)


def fitted_bias(z: npt.NDArray[Any], positive_rate: float) -> float:
    """The bias b with mean(sigmoid(z + b)) = `positive_rate` (bisection)."""
    lo, hi = -20.0, 20.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if (1 / (1 + np.exp(-(z + mid)))).mean() < positive_rate:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


class PlantedModel:
    """The planted logit over F fields' ids, its labels, and the pairs that carry its signal.

    Args:
        rng: the random generator to draw the model (and, later, labels) from; shared with
            the caller, so that one seed fixes a whole data set.
        num_ids: ids of each field (ids of field f lie in `[0, num_ids[f])`).
        positive_rate: the rate the bias is fitted to, on the first rows `logits` scores.
        pairs: |P|, the number of interacting field pairs (0: max(3, F // 2)).
        first_order: a, the weight of the per-field part.
        signal: s, the scale of the variable part.
    """

    def __init__(
        self,
        rng: np.random.Generator,
        num_ids: Sequence[int],
        positive_rate: float,
        pairs: int = 0,
        first_order: float = 0.3,
        signal: float = 1.0,
    ):
        self.rng = rng
        self.positive_rate, self.first_order, self.signal = positive_rate, first_order, signal
        self.first = [rng.normal(0, 1, n) for n in num_ids]
        self.factor = [rng.normal(0, 1, (n, FACTOR_DIM)) for n in num_ids]
        n = len(num_ids)
        all_pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
        picks = rng.choice(len(all_pairs), size=min(len(all_pairs), pairs or max(3, n // 2)), replace=False)
        self.pairs: List[Tuple[int, int]] = [all_pairs[p] for p in sorted(picks)]
        self.bias: Optional[float] = None

    def logits(self, ids: Sequence[npt.NDArray[Any]]) -> npt.NDArray[Any]:
        """The planted logit of rows given as one id array per field (fits the bias on first use)."""
        num_fields = len(self.first)
        z = np.zeros(len(ids[0]))
        for f in range(num_fields):
            z += self.first_order * self.first[f][ids[f]] / math.sqrt(num_fields)
        for i, j in self.pairs:
            z += (self.factor[i][ids[i]] * self.factor[j][ids[j]]).sum(1) / math.sqrt(2 * len(self.pairs))
        z *= self.signal
        if self.bias is None:
            self.bias = fitted_bias(z, self.positive_rate)
        return z + self.bias

    def labels(self, logits: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """Clicks (0/1 int64) drawn with probability `sigmoid(logits)`."""
        return np.asarray(self.rng.random(len(logits)) < 1 / (1 + np.exp(-logits))).astype(np.int64)


def planted_click_log(
    rows: int,
    vocab_sizes: Sequence[int],
    seed: int = 0,
    positive_rate: float = 0.3,
    pairs: int = 0,
    first_order: float = 0.3,
    signal: float = 1.0,
) -> Tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any]]:
    """An in-memory click log from a planted model: `(ids, clicks, click probabilities)`.

    Ids of field f are Zipf-like (exponent 1.05) over `[0, vocab_sizes[f])`. Returns int32
    ids `(rows, F)`, float32 clicks `(rows, 1)` and the planted probabilities `(rows,)`, whose
    AUC against the clicks is the ceiling for a learner. The other arguments are
    `PlantedModel`'s; the same arguments give the same arrays.
    """
    rng = np.random.default_rng(seed)
    model = PlantedModel(rng, vocab_sizes, positive_rate, pairs=pairs, first_order=first_order, signal=signal)
    ids = [sample(rng, zipf_probabilities(v, s=1.05), rows) for v in vocab_sizes]
    logits = model.logits(ids)
    clicks = model.labels(logits).astype("float32")[:, None]
    return np.stack(ids, axis=1).astype("int32"), clicks, 1 / (1 + np.exp(-logits))


def planted_bag_log(
    rows: int,
    vocab_sizes: Sequence[int],
    bag_vocab_size: int,
    max_len: int,
    seed: int = 0,
    positive_rate: float = 0.3,
    bag_weight: float = 1.5,
) -> Tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any]]:
    """A planted click log with one multi-valued field (a bag of 1..`max_len` ids) after the
    single-valued ones, whose signal is spread over all of a row's values.

    The logit is `planted_click_log`'s over the single-valued fields plus `bag_weight` times the
    mean of the bag's per-id weights (standard normal), so a model that keeps only the bag's
    first value sees a fraction of its signal and one that pools the bag sees all of it. Returns
    int32 ids `(rows, F + max_len)` in the model's layout (the bag's unused columns -1), float32
    clicks `(rows, 1)` and the planted probabilities `(rows,)`.
    """
    rng = np.random.default_rng(seed)
    model = PlantedModel(rng, vocab_sizes, positive_rate)
    bag_weights = rng.normal(0, 1, bag_vocab_size)
    ids = [sample(rng, zipf_probabilities(v, s=1.05), rows) for v in vocab_sizes]
    lengths = rng.integers(1, max_len + 1, rows)
    bag = rng.integers(0, bag_vocab_size, (rows, max_len))
    used = np.arange(max_len)[None, :] < lengths[:, None]
    z = model.logits(ids) + bag_weight * (bag_weights[bag] * used).sum(1) / lengths
    logits = z + fitted_bias(z, positive_rate)
    clicks = model.labels(logits).astype("float32")[:, None]
    columns = np.concatenate([np.stack(ids, axis=1), np.where(used, bag, -1)], axis=1)
    return columns.astype("int32"), clicks, 1 / (1 + np.exp(-logits))
