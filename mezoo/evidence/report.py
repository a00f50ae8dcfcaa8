"""The results page: what the committed evidence shows for each of the paper's five claims.

Reads only what the commands wrote into the subdirectories of a results directory:
`mezoo.toy` (`toy.csv`), `mezoo.scaling` (`scaling.csv`, `study.json`, `abundance_by_epoch.csv`,
`predictions/*.npz`), `mezoo.analyze` (`fields.csv`, figures) and `mezoo.parity`
(`parity.csv`); and writes its `README.md`: per claim a verdict computed by the rules of
`mezoo.evidence.rules` from differences with their 95% intervals (`mezoo.evidence.noise`:
seeds and test rows), the numbers behind it, a figure, the paper's deltas beside mezoo's, the
BARS parity table, and every result with its data, protocol, command and the provenance of its
cells. Nothing retrains and the page is never edited by hand: the verdict follows the data.

What enters a verdict: studies on real data whose cells kept their test predictions. Studies
on synthetic data are smoke tests, reported on their own; older tables whose runs' weights and
predictions were not kept are listed with "no interval". Test labels are read from the
licensed data where this machine has it (`mezoo.evidence.labels`); without them AUC
differences have no interval and show nothing.

The page's parts, one module each: `report_inputs` reads the results directory, `report_study`
reads a scaling study back with its intervals, `report_claims` judges the five claims (by
`mezoo.evidence.rules`) with `report_checks`' IA robustness lines, `report_ensembles` compares ME
with the ensemble baseline, `report_sections` writes the other sections, `report_digests` the
inputs' digests; this module puts the page together.

Example:
>>> write_report("docs/results")  # doctest: +SKIP
"""

from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from mezoo.atomic import atomic_write
from mezoo.evidence import provenance as prov
from mezoo.evidence.labels import LabelFinder
from mezoo.evidence.report_claims import (
    Claim,
    VerdictTests,
    claim_abundance,
    claim_collapse,
    claim_scaling,
    claim_shared_interaction,
    claim_toy,
)
from mezoo.evidence.report_digests import INPUTS_FILE, input_digests, inputs_listing, inputs_section
from mezoo.evidence.report_ensembles import ensemble_section
from mezoo.evidence.report_inputs import Result, collect, of_kind
from mezoo.evidence.report_sections import (
    added_later_lines,
    data_size,
    null_section,
    older_section,
    paper_section,
    parity_section,
    provenance_section,
    side_by_side,
    smoke_section,
)
from mezoo.evidence.report_study import REPLICATES, Study
from mezoo.evidence.table_checks import ReportInputError


def judged_claims(evidence: Sequence[Study], toys: Sequence[Result], root: Path) -> Tuple[List[Claim], VerdictTests]:
    """The five claims, each verdict read from the family of tests corrected together (`VerdictTests`).

    The claims are built twice: the first pass records every test that feeds a verdict, Holm's
    correction runs over them, and the second pass reads each test's corrected sign.
    """
    family = VerdictTests()

    def build() -> List[Claim]:
        return [
            claim_collapse(evidence, root, family),
            claim_toy(toys, root, family),
            claim_abundance(evidence, root, family),
            claim_scaling(evidence, root, family),
            claim_shared_interaction(evidence, root, family),
        ]

    build()  # records the family of tests that feed verdicts
    family.correct()
    return build(), family


def introduction(family: VerdictTests) -> List[str]:
    """The page's title and how to read a verdict."""
    return [
        "# What mezoo's runs show: the paper's five claims",
        "",
        "Written by `python -m mezoo.report`; do not edit by hand. Each verdict follows from the tables the commands "
        "wrote into the directories linked below, by the rules in `mezoo/evidence/rules.py`. A difference is *shown* "
        "where its 95% interval, over seeds (sample sd) and test rows (a paired bootstrap of the kept test "
        f"predictions, {REPLICATES} replicates), excludes zero: a one-sided test at 2.5% in the direction of its "
        f"sign. The {family.size} tests that feed verdicts are one family, corrected for their number by Holm's "
        "method (family-wise 5%): verdicts read the corrected result, the page prints each interval uncorrected "
        "with its minimum detectable effect (MDE: the true difference the test shows with 80% power)"
        + (
            f"; {len(family.changed())} test(s) shown alone are not shown after the correction"
            if family.changed()
            else "; the correction changed no test"
        )
        + ". Studies on synthetic data are smoke tests and enter no verdict; older tables without kept predictions "
        "have no interval; null studies (permuted training labels) are reported on their own.",
        "",
    ]


def claim_lines(claims: Sequence[Claim]) -> List[str]:
    """Each claim's section: its verdict with the verdict per study, its lines and its figure."""
    lines: List[str] = []
    for c in claims:
        lines += [f"## Claim {c.number}: {c.title}", ""] + c.lines + [""]
        if c.figure:
            lines += [f"![{c.figure[1]}]({c.figure[0]})", ""]
    return lines


def markdown(
    results: Sequence[Result],
    root: Path,
    info: Dict[str, str],
    finder: Optional[LabelFinder] = None,
    digests: Optional[Dict[str, str]] = None,
) -> str:
    """The claims page: the verdicts table, each claim, then the other sections (`report_sections`)."""
    data_dirs = [p for r in of_kind(results, "study") for p in _data_dirs(r)]
    finder = finder or LabelFinder(data_dirs)
    studies = [Study(r, finder) for r in of_kind(results, "study")]
    nulls = [s for s in studies if s.null and not s.synthetic and s.has_predictions]
    evidence = [s for s in studies if not s.synthetic and s.has_predictions and not s.null]
    smoke = [s for s in studies if s.synthetic]
    older = [s for s in studies if not s.synthetic and not s.has_predictions]
    analyses = of_kind(results, "analysis")
    claims, family = judged_claims(evidence, of_kind(results, "toy"), root)
    lines = introduction(family) + ["| claim | verdict | by study |", "|---|---|---|"]
    for c in claims:
        by = "; ".join(f"{f.source}: {f.verdict.lower()}" for f in c.findings) or "-"
        lines.append(f"| {c.number}. {c.title} | {c.verdict} | {by} |")
    lines += ["", "## Side by side with the paper", ""] + side_by_side(evidence)
    lines += claim_lines(claims)
    ensembles = ensemble_section(evidence, root)
    if ensembles:
        lines += ["## ME against an ensemble of the same size", ""] + ensembles
    lines += ["## The paper's own Table 1 under these rules", ""] + paper_section()
    if nulls:
        lines += ["## A null the pipeline must fail: permuted training labels", ""] + null_section(nulls, root)
    size = data_size(evidence)
    if size:
        lines += ["## Does scaling the model need more data?", ""] + size
    lines += ["## The zoo against BARS", ""]
    lines += parity_section(of_kind(results, "parity"), root) or ["No parity table (`python -m mezoo.parity`).", ""]
    if smoke:
        lines += ["## Smoke tests on synthetic data (no verdict)", ""] + smoke_section(smoke, root) + [""]
    if older or analyses:
        lines += ["## Other results", ""] + older_section(older, analyses, root) + [""]
    lines += ["## Every result directory", ""] + provenance_section(results, root) + added_later_lines(studies, root)
    lines += ["## Provenance", "", prov.provenance_markdown(info)]
    lines += inputs_section(results, input_digests(results, root) if digests is None else digests)
    return "\n".join(lines) + "\n"


def _data_dirs(result: Result) -> List[Path]:
    notes = result.meta.get("data") or []
    return [Path(n) for n in notes if isinstance(n, str) and Path(n).is_dir()]


def write_report(root, out=None, argv: Optional[Sequence[str]] = None, finder: Optional[LabelFinder] = None) -> Path:
    """Writes the claims page for the results under `root` (default: `root/README.md`)."""
    root = Path(root)
    results = collect(root)
    if not results:
        raise ReportInputError(
            f"{root}: no results (toy.csv, fields.csv, scaling.csv or parity.csv) in its subdirectories"
        )
    out = Path(out) if out else root / "README.md"
    listing = out.parent / INPUTS_FILE
    # uncommitted tables under `root` mark the commit +dirty; the page and its listing are this command's own
    info = prov.provenance("mezoo.report", None if argv is None else list(argv), results=root, writes=[out, listing])
    digests = input_digests(results, root)
    text = markdown(results, root, info, finder, digests)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(listing, inputs_listing(digests))
    atomic_write(out, text)
    return out
