"""The verdict rules of the results page, on differences with their intervals (`mezoo.evidence.noise`).

A difference is *shown* when its 95% interval excludes zero: a one-sided test at 2.5% in the
direction of its sign. On the results page the tests that feed verdicts form one family, whose
"shown" is corrected by Holm's method (family-wise 5%; `noise.holm`): a verdict reads the
corrected sign, the page prints every interval uncorrected beside it with its minimum detectable
effect at 80% power. The rules never look at a bare mean. Each claim is judged per study (a
model, data set and protocol: one "row" in the paper's tables), then over the studies. The
rules, which `tests/evidence/test_rules.py` holds to null cases (untrained tables, noise, SE and
ME rising alike, permuted labels) and to the paper's own Table 1:

- **Fields** (claims 1 and 3): those large enough to show collapse, fixed before any figure is
  read: measured rows >= 4x the widest SE table of the study. Claim 3 on every field is printed
  as a second line and does not enter the verdict.
- **Claim 1, collapse**: on those fields, IA / same-shape random IA is higher at SE's smallest
  width than at its largest (shown). Random tables sit at 1 whatever the width, so they never pass.
- **Claim 2, interaction collapse (toy)**: IA(E1) at the end against the largest D3 minus
  against the smallest, over seeds (`toy_difference`), is shown above zero (`single`). The toy's
  own page (`mezoo.toy`) and the claims page both ask this rule; the toy's page reads the test
  alone, the claims page within its corrected family.
- **Claim 3, ME's abundance**: ME's concatenated tables minus SE's at the same width, in mean
  IA / random IA over fields, at each scale (`beats`).
- **Claim 4, scaling** ("ME's AUC rises with the number of sets while SE's stays flat or falls"):
  (a) ME - SE at the largest scale, (b) ME at its largest scale - the 1x model, (c) SE at the
  largest scale - the 1x model. `scaling` gives:

  | (a) or (b) shown below zero | (c) shown above zero | (a), (b) shown above zero | verdict |
  |---|---|---|---|
  | yes | any | any | does not hold |
  | no | yes (SE rises too) | both | partly holds |
  | no | yes | one or none | does not hold |
  | no | no (SE flat or falls) | both | holds |
  | no | no | one | partly holds |
  | no | no | none | not shown |

  So SE and ME rising alike (the null of scale alone helping) does not hold, never partly.
- **Claim 5, ME-SI**: ME minus ME-SI at each scale (`beats`), only where ME-SI is the paper's
  (one interaction module shared by all sets, stacked DCNv2).

`beats` (A better than B over scales): shown at the largest scale and nowhere reversed: holds;
reversed at the largest scale: does not hold; shown at some scale only: partly; nowhere shown
either way: not shown.

Over studies (`overall`): none tested: not tested; holds when at least 3/4 of the tested studies
hold and none does not; partly when some hold or partly hold; does not hold when those that say
anything all say so; not shown when no study shows anything.
"""

import dataclasses
from typing import Dict, List, Mapping, Optional, Sequence

from mezoo.evidence.noise import Interval, welch_interval

HOLDS, PARTLY, FAILS, NOT_SHOWN, UNTESTED = "Holds", "Partly holds", "Does not hold", "Not shown", "Not tested"


@dataclasses.dataclass
class Finding:
    """One study's verdict on a claim, with the sentences that explain it."""

    source: str
    verdict: str
    reasons: List[str] = dataclasses.field(default_factory=list)


def single(interval: Optional[Interval]) -> str:
    """A one-sided claim on one difference: shown above zero holds, shown below does not."""
    if interval is None:
        return UNTESTED
    return {1: HOLDS, -1: FAILS, 0: NOT_SHOWN, None: NOT_SHOWN}[interval.shown]


def toy_difference(final_ia: Mapping[int, Sequence[float]]) -> Interval:
    """Claim 2's difference: IA(E1) at the end, against the largest D3 minus against the smallest, over seeds.

    `final_ia`: each D3's final IA(E1), one value per seed.
    """
    return welch_interval(final_ia[max(final_ia)], final_ia[min(final_ia)])


def beats(by_scale: Dict[int, Interval]) -> str:
    """A better than B over scales (see the module docstring)."""
    if not by_scale:
        return UNTESTED
    largest = by_scale[max(by_scale)].shown
    signs = [interval.shown for interval in by_scale.values()]
    if largest == 1 and -1 not in signs:
        return HOLDS
    if largest == -1:
        return FAILS
    if 1 in signs:
        return PARTLY
    return FAILS if -1 in signs else NOT_SHOWN


def scaling(
    me_vs_se_at_largest: Optional[Interval], me_growth: Optional[Interval], se_growth: Optional[Interval]
) -> str:
    """Claim 4 in one study (the table in the module docstring): (a) ME - SE at the largest scale, (b) ME
    at its largest scale - the 1x model, (c) SE at its largest scale - the 1x model."""
    if me_vs_se_at_largest is None and me_growth is None:
        return UNTESTED
    signs = [i.shown for i in (me_vs_se_at_largest, me_growth) if i is not None]
    if -1 in signs:
        return FAILS
    shown = sum(1 for s in signs if s == 1)
    if se_growth is not None and se_growth.shown == 1:
        return PARTLY if shown == 2 else FAILS
    if shown == 2:
        return HOLDS
    return PARTLY if shown else NOT_SHOWN


def overall(verdicts: Sequence[str]) -> str:
    """A claim's verdict over its studies' verdicts (see the module docstring)."""
    tested = [v for v in verdicts if v != UNTESTED]
    if not tested:
        return UNTESTED
    holds, partly, fails = (sum(v == x for v in tested) for x in (HOLDS, PARTLY, FAILS))
    if fails:
        return FAILS if holds + partly == 0 else PARTLY
    if holds >= 0.75 * len(tested):
        return HOLDS
    if holds + partly:
        return PARTLY
    return NOT_SHOWN
