"""The paper's five claims on the claims page: per claim its findings per study, verdict, lines and figure.

Each `claim_*` reads the studies (or toys) that enter verdicts, computes each difference with its
interval, records it in the family of tests that feed verdicts (`VerdictTests`, corrected by
Holm's method) and asks `mezoo.evidence.rules` for the verdict: the page decides nothing itself.
"""

import dataclasses
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mezoo.evidence import convergence, report_checks, rules
from mezoo.evidence.noise import Interval, holm, mean_sd, welch_interval
from mezoo.evidence.report_inputs import Result
from mezoo.evidence.report_study import Study, cell_key, study_title
from mezoo.evidence.variants import Variant

LARGE_FIELD = 4  # claim 1 reads fields whose measured rows are at least this many times the width


class VerdictTests:
    """The family of tests that feed verdicts, corrected together for their number (Holm, `noise.holm`).

    The page is built twice: the first pass records every test (`test` returns it as computed),
    `correct` applies Holm's method to the family, and the second pass gets each test back with
    its corrected sign, so that verdicts read the corrected "shown" while the page prints every
    interval as it was.
    """

    def __init__(self) -> None:
        self.recorded: Dict[Tuple, Interval] = {}
        self.corrected: Optional[Dict[Tuple, Interval]] = None

    def test(self, key: Tuple, interval: Interval) -> Interval:
        if self.corrected is None:
            self.recorded[key] = interval
            return interval
        return self.corrected.get(key, interval)

    def correct(self) -> None:
        self.corrected = holm(self.recorded)

    @property
    def size(self) -> int:
        return sum(1 for i in self.recorded.values() if i.p_value is not None)

    def changed(self) -> List[Tuple]:
        return [k for k, i in (self.corrected or {}).items() if i.shown != i.shown_alone]


UNCORRECTED = VerdictTests()  # a family that records nothing it corrects: each test alone
UNCORRECTED.corrected = {}


@dataclasses.dataclass
class Claim:
    number: int
    title: str
    verdict: str
    lines: List[str]
    figure: Optional[Tuple[str, str]] = None
    findings: List[rules.Finding] = dataclasses.field(default_factory=list)


def _claim(number: int, title: str, findings: List[rules.Finding], lines: List[str], figure=None) -> Claim:
    verdict = rules.overall([f.verdict for f in findings])
    head = [f"**{verdict}** ({', '.join(f'{f.source}: {f.verdict.lower()}' for f in findings) or 'no study'})."]
    return Claim(number, title, verdict, head + [""] + lines, figure, findings)


def _figure(result: Result, name: str, root: Path, text: str) -> Optional[Tuple[str, str]]:
    path = result.path / name
    return (str(path.relative_to(root)), text) if path.exists() else None


def large_fields(study: Study) -> Tuple[List[str], int]:
    """(the fields claims 1 and 3 read, the widest SE table): measured rows >= `LARGE_FIELD` x the
    widest SE table of the study, in every SE cell; fixed by the tables' shapes, before any IA is read."""
    se_rows = [r for n in study.scales(Variant.SE) for r in study.cells(Variant.SE, n)]
    if not se_rows:
        return [], 0
    widest = max(int(r["width"]) for r in se_rows)
    measured: Dict[str, List[int]] = {}
    for row in se_rows:
        for epoch_row in study.epoch_rows(cell_key(row)):
            if epoch_row["best"] == "True":
                measured.setdefault(epoch_row["field"], []).append(int(epoch_row["rows"]))
    return sorted(f for f, rows in measured.items() if min(rows) >= LARGE_FIELD * widest), widest


def claim_collapse(studies: Sequence[Study], root: Path, family: VerdictTests = UNCORRECTED) -> Claim:
    """Claim 1: on large fields, SE's IA / random IA falls as the table widens."""
    findings, lines, figure = [], [], None
    for study in studies:
        widths = study.scales(Variant.SE)
        if len(widths) < 2:
            continue
        large, widest = large_fields(study)
        if not large:
            findings.append(rules.Finding(study.name, rules.UNTESTED))
            lines.append(f"- {study.result.link(root)}: no field has {LARGE_FIELD}x the widest table's {widest} rows.")
            continue
        per_width = {n: [study.ratio(r, large) for r in study.cells(Variant.SE, n)] for n in widths}
        interval = family.test((1, study.name), welch_interval(per_width[widths[0]], per_width[widths[-1]]))
        verdict = rules.single(interval)
        findings.append(rules.Finding(study.name, verdict))
        series = "; ".join(f"width {study.cells('SE', n)[0]['width']}: {mean_sd(per_width[n], 3)}" for n in widths)
        lines.append(
            f"- {study.result.link(root)} ({study_title(study)}), fields {', '.join(large)}: IA / random IA {series}. "
            f"Narrowest minus widest: {interval.detail(3)} ({verdict.lower()})."
        )
        lines += report_checks.collapse_lines(study, large)
        figure = figure or _figure(study.result, "ia_vs_scale.png", root, f"abundance against scale, {study.name}")
    lines.append(
        f"- A random table scores 1 at every width; fields with fewer than {LARGE_FIELD}x the width in rows are left "
        "out: their IA is capped by their rows, not by collapse. *Checks*, where the cells' weights were kept: the "
        "same comparison with each table centred (column means removed) and row-normalised (rows scaled to unit "
        "length), which a shared offset of the rows or row norms grown with frequency move and collapse does not; "
        "the verdict reads the paper's IA."
    )
    return _claim(1, "single-embedding tables collapse as they widen", findings, lines, figure)


def claim_toy(toys: Sequence[Result], root: Path, family: VerdictTests = UNCORRECTED) -> Claim:
    """Claim 2: trained against a small field, E1's IA ends lower than against a large one."""
    findings, lines, figure = [], [], None
    for toy in toys:
        runs: Dict[Tuple[str, str, str], List[Dict[str, str]]] = {}
        for row in toy.rows:
            runs.setdefault((row["dim"], row["d3"], row["seed"]), []).append(row)
        for dim in sorted({k[0] for k in runs}, key=int):
            d3s = sorted({int(k[1]) for k in runs if k[0] == dim})
            if len(d3s) < 2:
                continue
            last = {k: max(rows, key=lambda r: int(r["step"])) for k, rows in runs.items() if k[0] == dim}
            final = {d: [float(r["ia"]) for k, r in last.items() if int(k[1]) == d] for d in d3s}
            losses = {d: [float(r["loss"]) for k, r in last.items() if int(k[1]) == d] for d in d3s}
            steps = max(int(r["step"]) for r in last.values())
            moved = [
                convergence.late_loss_change([int(r["step"]) for r in rows], [float(r["loss"]) for r in rows])
                for key, rows in runs.items()
                if key[0] == dim
            ]
            moved = [m for m in moved if np.isfinite(m)]
            interval = family.test((2, toy.name, dim), rules.toy_difference(final))
            verdict = rules.single(interval)
            findings.append(rules.Finding(f"{toy.name} K={dim}", verdict))
            lines.append(
                f"- {toy.link(root)}, K = {dim}, {steps:,} steps: IA(E1) {mean_sd(final[d3s[0]], 2)} against "
                f"D3 = {d3s[0]}, {mean_sd(final[d3s[-1]], 2)} against D3 = {d3s[-1]}; large minus small "
                f"{interval.detail(2)} ({verdict.lower()}); final loss {np.mean(losses[d3s[0]]):.3f} / "
                f"{np.mean(losses[d3s[-1]]):.3f}"
                + (
                    f", which moved by up to {100 * max(moved):.1f}% over the last tenth of the steps "
                    f"({convergence.state(max(moved))})."
                    if moved
                    else "."
                )
            )
        figure = figure or _figure(toy, "toy.png", root, "IA(E1) over training, small and large D3")
    return _claim(2, "the interaction-collapse law (toy)", findings, lines, figure)


def claim_abundance(studies: Sequence[Study], root: Path, family: VerdictTests = UNCORRECTED) -> Claim:
    """Claim 3: ME's concatenated tables are more abundant than an SE table of the same width, on the
    fields of claim 1 (`large_fields`); every field is a second line, outside the verdict."""
    findings, lines, figure = [], [], None
    for study in studies:
        by_scale: Dict[int, Interval] = {}
        large, _ = large_fields(study)
        for n in study.scales(Variant.ME):
            se, me = study.cells(Variant.SE, n), study.cells(Variant.ME, n)
            if not se or not large:
                continue
            me_ia, se_ia = [study.ratio(r, large) for r in me], [study.ratio(r, large) for r in se]
            interval = family.test((3, study.name, n), welch_interval(me_ia, se_ia))
            by_scale[n] = interval
            matched = min(study.epochs_trained(r) for r in se + me)
            at_matched = welch_interval(
                [study.ratio(r, large, epoch=matched) for r in me], [study.ratio(r, large, epoch=matched) for r in se]
            )
            every = welch_interval([study.ratio(r) for r in me], [study.ratio(r) for r in se])
            lines.append(
                f"- {study.result.link(root)} ({study_title(study)}), {n}x (width {se[0]['width']}), fields "
                f"{', '.join(large)}: mean IA / random IA, ME {mean_sd(me_ia, 3)}, SE {mean_sd(se_ia, 3)} at the best "
                f"epoch; ME - SE {interval.detail(3)}; at epoch {matched}, which every one of these cells reached: "
                f"{at_matched.text(3)}. On every field (not in the verdict): ME - SE {every.text(3)}."
            )
            lines += report_checks.abundance_lines(study, n, large)
        if by_scale:
            findings.append(rules.Finding(study.name, rules.beats(by_scale)))
            figure = figure or _figure(study.result, "ia_vs_scale.png", root, f"abundance against scale, {study.name}")
    return _claim(3, "ME's tables are more abundant than an SE table of the same width", findings, lines, figure)


def claim_scaling(studies: Sequence[Study], root: Path, family: VerdictTests = UNCORRECTED) -> Claim:
    """Claim 4: ME's AUC rises with the number of sets while SE's stays flat or falls."""
    findings, lines, figure = [], [], None
    for study in studies:
        both = [n for n in study.scales(Variant.ME) if study.cells(Variant.SE, n)]
        base = study.cells(Variant.SE, 1)
        if not both or not base:
            continue
        largest = max(both)
        per_scale = []
        for n in [1] + both:
            se, me = study.aucs(Variant.SE, n), study.aucs(Variant.ME, n)
            text = f"{n}x SE {mean_sd(se)}" + (f", ME {mean_sd(me)}" if n > 1 else "")
            if n > 1:
                text += f", ME - SE {study.auc_difference(study.cells('ME', n), study.cells('SE', n)).text()}"
            per_scale.append(text)
        me_vs_se = family.test(
            (4, study.name, "a"),
            study.auc_difference(study.cells(Variant.ME, largest), study.cells(Variant.SE, largest)),
        )
        growth = family.test((4, study.name, "b"), study.auc_difference(study.cells(Variant.ME, largest), base))
        se_trend = family.test((4, study.name, "c"), study.auc_difference(study.cells(Variant.SE, largest), base))
        verdict = rules.scaling(me_vs_se, growth, se_trend)
        findings.append(rules.Finding(study.name, verdict))
        lines.append(
            f"- {study.result.link(root)} ({study_title(study)}), test AUC: "
            + "; ".join(per_scale)
            + f". (a) ME - SE at {largest}x {me_vs_se.detail()}; (b) ME at {largest}x - the 1x model "
            f"{growth.detail()}; (c) SE at {largest}x - the 1x model {se_trend.detail()}: {verdict.lower()}."
        )
        figure = figure or _figure(study.result, "auc_vs_scale.png", root, f"test AUC against scale, {study.name}")
    title = "ME's AUC rises with the number of sets while SE's stays flat or falls"
    return _claim(4, title, findings, lines, figure)


def claim_shared_interaction(studies: Sequence[Study], root: Path, family: VerdictTests = UNCORRECTED) -> Claim:
    """Claim 5: ME with one shared interaction module (ME-SI) scales worse than ME."""
    findings, lines, figure = [], [], None
    for study in studies:
        scales = [n for n in study.scales(Variant.ME_SI) if study.cells(Variant.ME, n)]
        if not scales:
            continue
        as_in_paper = study.structure != "parallel"
        by_scale = {}
        for n in scales:
            difference = study.auc_difference(study.cells(Variant.ME, n), study.cells(Variant.ME_SI, n))
            by_scale[n] = family.test((5, study.name, n), difference) if as_in_paper else difference
        texts = [
            f"{n}x ME {mean_sd(study.aucs('ME', n))}, ME-SI {mean_sd(study.aucs('ME-SI', n))}, ME - ME-SI "
            f"{by_scale[n].detail()}"
            for n in scales
        ]
        verdict = rules.beats(by_scale)
        if as_in_paper:
            findings.append(rules.Finding(study.name, verdict))
            figure = figure or _figure(study.result, "auc_vs_scale.png", root, f"test AUC against scale, {study.name}")
        lines.append(
            f"- {study.result.link(root)} ({study_title(study)}): "
            + "; ".join(texts)
            + f": {verdict.lower()}"
            + (
                "."
                if as_in_paper
                else " — not tested as in the paper: in the parallel DCNv2 ME-SI shares only the cross net, every set "
                "keeps its own MLP branch; this study does not enter the verdict."
            )
        )
    title = "ME with one shared interaction module (ME-SI) scales worse than ME"
    return _claim(5, title, findings, lines, figure)
