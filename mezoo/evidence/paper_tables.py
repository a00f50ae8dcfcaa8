"""The paper's published test AUCs (Guo et al., ICML 2024, arXiv v1): the fixture the claim rules must pass.

`TABLE[dataset][model][variant]` maps a scale (1, 2, 3, 4, 10) to the mean test AUC of `RUNS`
runs; ME at 1x is SE. The paper gives standard deviations of 2e-5 to 5e-4 and calls differences
below about 3e-4 noise. Its means come without per-run values, so the rules read a difference of
two means with a per-run sd (`noise.means_interval`): `NOISE_LEVELS`, the paper's 3e-4 and its
upper 5e-4. NFwFM has no 10x on Avazu.
"""

from typing import Dict

from mezoo.evidence.variants import Variant

RUNS = 3
NOISE_LEVELS = (3e-4, 5e-4)

_SCALES = (1, 2, 3, 4, 10)


def _row(se, me) -> Dict[str, Dict[int, float]]:
    se_row = {s: v for s, v in zip(_SCALES, se) if v is not None}
    me_row = {s: v for s, v in zip(_SCALES[1:], me) if v is not None}
    return {Variant.SE: se_row, Variant.ME: {1: se_row[1], **me_row}}


TABLE: Dict[str, Dict[str, Dict[str, Dict[int, float]]]] = {
    "criteo": {
        "DNN": _row((0.81228, 0.81222, 0.81207, 0.81213, 0.81142), (0.81261, 0.81288, 0.81289, 0.81287)),
        "IPNN": _row((0.81272, 0.81273, 0.81272, 0.81271, 0.81262), (0.81268, 0.81270, 0.81273, 0.81311)),
        "NFwFM": _row((0.81059, 0.81087, 0.81090, 0.81112, 0.81113), (0.81128, 0.81153, 0.81171, 0.81210)),
        "xDeepFM": _row((0.81217, 0.81180, 0.81167, 0.81137, 0.81116), (0.81236, 0.81239, 0.81255, 0.81299)),
        "DCNv2": _row((0.81339, 0.81341, 0.81345, 0.81346, 0.81357), (0.81348, 0.81361, 0.81382, 0.81385)),
        "FinalMLP": _row((0.81259, 0.81262, 0.81248, 0.81240, 0.81175), (0.81290, 0.81302, 0.81303, 0.81303)),
    },
    "avazu": {
        "DNN": _row((0.78744, 0.78759, 0.78752, 0.78728, 0.78648), (0.78805, 0.78826, 0.78862, 0.78884)),
        "IPNN": _row((0.78732, 0.78741, 0.78738, 0.78750, 0.78745), (0.78806, 0.78868, 0.78902, 0.78949)),
        "NFwFM": _row((0.78684, 0.78757, 0.78783, 0.78794, None), (0.78868, 0.78901, 0.78932, None)),
        "xDeepFM": _row((0.78743, 0.78750, 0.78714, 0.78735, 0.78693), (0.78848, 0.78886, 0.78894, 0.78927)),
        "DCNv2": _row((0.78786, 0.78835, 0.78854, 0.78852, 0.78856), (0.78862, 0.78882, 0.78907, 0.78942)),
        "FinalMLP": _row((0.78751, 0.78797, 0.78795, 0.78742, 0.78662), (0.78821, 0.78831, 0.78836, 0.78830)),
    },
}
