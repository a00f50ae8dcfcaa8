"""The noise model of the results page: Welch intervals and the paired bootstrap over test rows."""

import numpy as np
import pytest
from scipy import stats

roc_auc_score = pytest.importorskip(
    "sklearn.metrics", reason="scikit-learn (the evidence extra) is the AUC reference"
).roc_auc_score

from mezoo.evidence.noise import PairedAUC, auc_difference, welch_interval  # noqa: E402


def test_welch_interval_is_scipys_welch_t_interval():
    a, b = [0.9851, 0.9856, 0.9849, 0.9860], [0.9838, 0.9841, 0.9836]
    got = welch_interval(a, b)
    expected = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert got.low == pytest.approx(expected.low, rel=1e-9) and got.high == pytest.approx(expected.high, rel=1e-9)
    assert got.shown == 1 and got.n == (4, 3)
    assert welch_interval(b, a).shown == -1
    assert welch_interval([1.0, 2.0, 3.0], [1.5, 2.5, 3.5]).shown == 0  # the spread covers the gap


def test_one_seed_has_no_interval_and_is_never_shown():
    single = welch_interval([0.99], [0.5, 0.6])
    assert single.shown is None and single.low is None and "n = 1" in single.why
    assert "no interval: n = 1 seed" in single.text()


def test_weighted_auc_equals_sklearn_with_ties_and_sample_weights():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 3000)
    scores = np.round(labels * 0.3 + rng.random(3000), 2)  # ties on purpose
    boot = PairedAUC(labels, replicates=20, seed=1)
    assert boot.auc(scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    replicates = boot.replicate_aucs(scores)
    for k in (0, 7, 19):
        expected = roc_auc_score(labels, scores, sample_weight=boot.counts[k])
        assert replicates[k] == pytest.approx(expected, abs=1e-9)


def test_the_bootstrap_spread_matches_the_auc_sampling_error():
    """On simulated tests sets: the replicates' std equals the spread of AUCs over fresh draws."""
    rng = np.random.default_rng(3)

    def draw(n=4000):
        labels = rng.integers(0, 2, n)
        return labels, labels * 0.8 + rng.normal(size=n)

    fresh = [roc_auc_score(*draw()) for _ in range(300)]
    labels, scores = draw()
    boot = np.std(PairedAUC(labels, replicates=1000, seed=2).replicate_aucs(scores), ddof=1)
    assert boot == pytest.approx(np.std(fresh, ddof=1), rel=0.2)


def test_paired_differences_see_a_small_real_gain_and_not_a_null_one():
    rng = np.random.default_rng(5)
    n = 20000
    labels = rng.integers(0, 2, n)
    signal = labels * 1.0 + rng.normal(size=n)

    def seeds(noise, count=3):  # models of one cell: the same signal, each seed its own noise
        return [signal + rng.normal(scale=noise, size=n) for _ in range(count)]

    boot = PairedAUC(labels, replicates=400, seed=0)
    better, base, same = seeds(0.3), seeds(0.5), seeds(0.5)
    assert auc_difference(boot, better, base).shown == 1
    null = auc_difference(boot, same, base)
    assert null.shown == 0 and null.low < 0 < null.high
