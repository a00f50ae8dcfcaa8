"""The claims page's "ME against an ensemble of the same size": ME minus ENS at each scale, descriptive.

An ENS cell at scale N averages N SE 1x runs' probabilities (`mezoo.evidence.scaling_ensembles`):
the same embedding parameters as ME at N, more tower parameters. Not one of the paper's claims,
so not in the family of tests Holm's correction covers: each difference is printed alone with its
95% interval over seeds and test rows (the same paired bootstrap as every comparison on the page)
and its minimum detectable effect, "not shown" where the interval covers zero; beside it, the IA /
random IA of ME's tables and of the members' tables concatenated, on the fields of claims 1 and 3.
"""

from pathlib import Path
from typing import List, Sequence

import numpy as np

from mezoo.evidence.noise import mean_sd, welch_interval
from mezoo.evidence.report_claims import large_fields
from mezoo.evidence.report_study import Study, cell_key, study_title
from mezoo.evidence.variants import Variant


def _reading(shown) -> str:
    return {1: "ME ahead", -1: "the ensemble ahead"}.get(shown, "not shown")


def _params(study: Study, variant: str, scale: int) -> str:
    values = [int(float(r["params"])) for r in study.cells(variant, scale) if r.get("params")]
    return f"{int(np.mean(values)):,}" if values else "-"


def study_lines(study: Study, root: Path) -> List[str]:
    """One line per scale with ENS cells, and one per ENS cell still waiting for members."""
    lines = []
    fields, _ = large_fields(study)
    for n in study.scales(Variant.ENS):
        me, ens = study.cells(Variant.ME, n), study.cells(Variant.ENS, n)
        if not me:
            lines.append(f"- {study.result.link(root)}, {n}x: ENS {mean_sd(study.aucs('ENS', n))}; no ME cell.")
            continue
        interval = study.auc_difference(me, ens)
        me_ia = [study.ratio(r, fields) for r in me]
        checked = [study.checks(cell_key(r), fields) for r in ens]
        ens_ia = [c["ia_vs_random"] for c in checked if c is not None]
        ia = (
            f"IA / random IA on fields {', '.join(fields)}: ME {mean_sd(me_ia, 3)}, the members' tables concatenated "
            f"{mean_sd(ens_ia, 3)}, ME - ENS {welch_interval(me_ia, ens_ia).text(3)}"
            if ens_ia
            else "IA of the members' tables not measured (their weights were not kept)"
        )
        lines.append(
            f"- {study.result.link(root)} ({study_title(study)}), {n}x: ME {mean_sd(study.aucs('ME', n))}, "
            f"ENS {mean_sd(study.aucs('ENS', n))}; ME - ENS {interval.detail()}: {_reading(interval.shown_alone)}. "
            f"Parameters: ME {_params(study, 'ME', n)}, ENS {_params(study, 'ENS', n)}. {ia}."
        )
    for key, why in (study.result.meta.get("ensembles_waiting") or {}).items():
        lines.append(f"- {study.result.link(root)}: `{key}` not assembled: {why}.")
    return lines


def ensemble_section(studies: Sequence[Study], root: Path) -> List[str]:
    """The section's lines; empty where no study has ensembles."""
    lines = [line for study in studies for line in study_lines(study, root)]
    if not lines:
        return []
    return [
        "Is ME better than averaging N independently trained single-embedding models (ENS: N SE 1x runs of the "
        "study, each with its own table, interaction module and head, their click probabilities averaged; "
        "its members are SE 1x seeds 3 on, not the 1x baseline of the claims)? The same embedding parameters as "
        "ME at N, more tower parameters. A descriptive comparison, not one of the paper's claims: each interval "
        "alone (95%, seeds and test rows, outside Holm's family), with its minimum detectable effect (MDE).",
        "",
        *lines,
        "",
    ]
