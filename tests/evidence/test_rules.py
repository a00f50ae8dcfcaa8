"""The claim rules say "holds" on the paper's own numbers and never on null cases."""

import pytest

from mezoo.evidence import paper_tables, rules
from mezoo.evidence.noise import fixed_noise_interval, welch_interval


def paper_row(model_row):
    se, me = model_row["SE"], model_row["ME"]
    largest = max(s for s in me if s in se)
    noise = paper_tables.NOISE
    me_vs_se = fixed_noise_interval(me[largest] - se[largest], noise)
    growth = fixed_noise_interval(me[largest] - se[1], noise)
    return rules.scaling(me_vs_se, growth)


def test_claim_4_holds_on_the_papers_table_1():
    verdicts = {
        (dataset, model): paper_row(row)
        for dataset, models in paper_tables.TABLE.items()
        for model, row in models.items()
    }
    assert rules.overall(list(verdicts.values())) == rules.HOLDS
    assert sum(v == rules.HOLDS for v in verdicts.values()) == 11
    assert verdicts[("criteo", "DCNv2")] == rules.PARTLY  # ME - SE at 10x is 2.8e-4: within the paper's noise


def test_claim_4_does_not_hold_when_se_and_me_rise_alike_or_differ_by_noise():
    rise = {1: 0.700, 4: 0.710, 10: 0.720}  # SE and ME rise alike
    alike = rules.scaling(
        fixed_noise_interval(rise[10] - rise[10], 3e-4), fixed_noise_interval(rise[10] - rise[1], 3e-4)
    )
    assert alike == rules.PARTLY and alike != rules.HOLDS
    noise = rules.scaling(fixed_noise_interval(1e-4, 3e-4), fixed_noise_interval(2e-4, 3e-4))
    assert noise == rules.NOT_SHOWN
    worse = rules.scaling(fixed_noise_interval(-1e-3, 3e-4), fixed_noise_interval(1e-3, 3e-4))
    assert worse == rules.FAILS


def test_one_seed_never_shows_anything():
    one_seed = welch_interval([0.99], [0.98])
    assert rules.single(one_seed) == rules.NOT_SHOWN and rules.scaling(one_seed, one_seed) == rules.NOT_SHOWN
    assert rules.beats({10: one_seed}) == rules.NOT_SHOWN


@pytest.mark.parametrize(
    "signs,verdict",
    [
        ({2: 0, 4: 1, 10: 1}, rules.HOLDS),
        ({2: 1, 4: 0, 10: 0}, rules.PARTLY),
        ({2: 1, 4: 1, 10: -1}, rules.FAILS),
        ({2: -1, 4: 0, 10: 1}, rules.PARTLY),
        ({2: -1, 4: 0, 10: 0}, rules.FAILS),
        ({2: 0, 4: 0, 10: 0}, rules.NOT_SHOWN),
    ],
)
def test_beats_over_scales(signs, verdict):
    intervals = {n: fixed_noise_interval({1: 1e-3, 0: 0.0, -1: -1e-3}[s], 3e-4) for n, s in signs.items()}
    assert rules.beats(intervals) == verdict


@pytest.mark.parametrize(
    "verdicts,expected",
    [
        ([], rules.UNTESTED),
        ([rules.UNTESTED], rules.UNTESTED),
        ([rules.HOLDS] * 3 + [rules.PARTLY], rules.HOLDS),
        ([rules.HOLDS, rules.PARTLY], rules.PARTLY),
        ([rules.HOLDS, rules.FAILS], rules.PARTLY),
        ([rules.FAILS, rules.NOT_SHOWN], rules.FAILS),
        ([rules.NOT_SHOWN, rules.NOT_SHOWN], rules.NOT_SHOWN),
        ([rules.HOLDS, rules.NOT_SHOWN, rules.NOT_SHOWN], rules.PARTLY),
    ],
)
def test_overall(verdicts, expected):
    assert rules.overall(verdicts) == expected
