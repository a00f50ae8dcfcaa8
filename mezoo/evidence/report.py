"""The results page: what the committed evidence shows for each of the paper's five claims.

Reads what `mezoo.toy` (`toy.csv`), `mezoo.analyze` (`fields.csv`), `mezoo.scaling`
(`scaling.csv`, `study.json`) and `mezoo.parity` (`parity.csv`) wrote into the subdirectories
of a results directory, and writes its `README.md`: per claim a verdict computed from those
numbers by the rules below, the numbers behind it, what was cut, and a figure. Nothing
retrains, and the page is never edited by hand: the verdict follows the data, whichever way
it goes.

Rules (`NOISE_AUC` is the AUC difference below which two runs count as equal):
- claim 1, collapse: every field of every SE run has a lower IA than a standard Gaussian
  matrix of its shape, and in every study the SE tables' mean IA grows by less than the width;
- claim 2, interaction collapse: IA(E1) ends lower against the small field than against the
  large one, on every seed and width;
- claim 3, ME's abundance: the concatenated ME tables' mean IA exceeds the same-width SE
  table's at every scale of every study;
- claim 4, scaling: ME's test AUC at its largest scale exceeds the 1x model's by more than
  `NOISE_AUC`, and SE's at its largest scale does not;
- claim 5, ME-SI: at the largest scale with both, ME's test AUC exceeds ME-SI's by more than
  `NOISE_AUC` and their spread over seeds.

Example:
>>> write_report("docs/results")  # doctest: +SKIP
"""

import csv
import dataclasses
import json
import re
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mezoo.evidence import provenance as prov
from mezoo.evidence.analyze import file_slug
from mezoo.evidence.scaling_report import mean_std_text

# Test-AUC differences below this are noise on these data (seed-to-seed spread of one cell).
NOISE_AUC = 3e-4

HOLDS, PARTLY, FAILS, UNTESTED = "Holds", "Partly holds", "Does not hold", "Not tested"
NOT_SHOWN = "Not shown"  # the data cannot tell (differences within the noise)


@dataclasses.dataclass
class Result:
    """One subdirectory of the results directory: its kind, rows and metadata."""

    path: Path
    kind: str  # "toy", "analysis", "study", "parity"
    rows: List[Dict[str, str]]
    meta: Dict = dataclasses.field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name


FILES = {"toy": "toy.csv", "analysis": "fields.csv", "study": "scaling.csv", "parity": "parity.csv"}
PAGES = {"toy": "README.md", "analysis": "summary.md", "study": "scaling.md", "parity": "parity.md"}


def _read_csv(path: Path) -> List[Dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def collect(root) -> List[Result]:
    """Every result under `root`, by the file its command writes; directories without one are skipped."""
    results = []
    for directory in sorted(p for p in Path(root).iterdir() if p.is_dir()):
        for kind, name in FILES.items():
            if (directory / name).exists():
                meta = {}
                if kind == "study" and (directory / "study.json").exists():
                    meta = json.loads((directory / "study.json").read_text())
                results.append(Result(directory, kind, _read_csv(directory / name), meta))
            elif (directory / PAGES[kind]).exists() and kind == "analysis":
                # written before mezoo.analyze wrote fields.csv: listed, but no numbers to read
                results.append(Result(directory, kind, []))
    return results


def _f(value) -> Optional[float]:
    try:
        return None if value in (None, "") else float(value)
    except ValueError:
        return None


def _link(result: Result, root: Path) -> str:
    page = result.path / PAGES[result.kind]
    return f"[{result.name}]({page.relative_to(root)})"


def _of(results: Sequence[Result], kind: str) -> List[Result]:
    return [r for r in results if r.kind == kind]


# ---------------------------------------------------------------- studies


def study_cells(study: Result, fraction: float = 1.0) -> Dict[Tuple[str, int], List[Dict[str, str]]]:
    """`{(variant, scale): [rows]}` of a study's finished cells at one training-data fraction."""
    cells: Dict[Tuple[str, int], List[Dict[str, str]]] = {}
    for row in study.rows:
        if abs(float(row["fraction"]) - fraction) < 1e-9:
            cells.setdefault((row["variant"], int(row["scale"])), []).append(row)
    return cells


def _column(rows, key) -> List[float]:
    return [v for v in (_f(r.get(key)) for r in rows) if v is not None]


def study_data(study: Result) -> str:
    """What the study trained on: study.json's data notes, else scaling.md's `Data:` line."""
    notes = study.meta.get("data")
    if notes:
        return "; ".join(notes)
    page = study.path / PAGES["study"]
    if page.exists():
        match = re.search(r"^Data: (.*?)\.?$", page.read_text(), re.MULTILINE)
        if match:
            return match.group(1)
    return "not recorded"


def study_caveats(study: Result) -> List[str]:
    """What limits a study's evidence: epochs cut, seeds, pending cells (from study.json and the CSV)."""
    notes = []
    meta = study.meta
    cut = [o for o in meta.get("overrides", []) if o.startswith("train.epochs=")]
    if cut:
        notes.append(f"every cell cut to {cut[-1].split('=', 1)[1]} epochs (`--set {cut[-1]}`)")
    seeds = {key: len(rows) for key, rows in study_cells(study).items()}
    if seeds and max(seeds.values()) < 2:
        notes.append("one seed per cell: a direction, not an effect size")
    elif seeds and min(seeds.values()) < max(seeds.values()):
        notes.append(f"{min(seeds.values())} to {max(seeds.values())} seeds per cell")
    pending = meta.get("pending", [])
    if pending:
        notes.append(f"{len(pending)} planned cells not trained: " + ", ".join(f"`{p}`" for p in pending))
    return notes


# ---------------------------------------------------------------- claims


@dataclasses.dataclass
class Claim:
    number: int
    title: str
    verdict: str
    lines: List[str]
    figure: Optional[Tuple[str, str]] = None  # (relative path, alt text)
    sources: Dict[str, str] = dataclasses.field(default_factory=dict)  # result directory -> its own verdict


def _real_first(studies: Sequence[Result]) -> List[Result]:
    """Studies on real data before those on the synthetic sample (whose data note says SYNTHETIC)."""
    return sorted(studies, key=lambda study: study_data(study).startswith("SYNTHETIC"))


def _by_source(parts: Dict[str, List[bool]]) -> Dict[str, str]:
    return {name: _combine(values) for name, values in parts.items()}


def _all_parts(parts: Dict[str, List[bool]]) -> List[bool]:
    return [part for values in parts.values() for part in values]


def _runs(analysis: Result, kind: str) -> Dict[str, List[Dict[str, str]]]:
    """`{run label: its field rows}` of an analysis' runs of one kind ("SE" or "ME")."""
    runs: Dict[str, List[Dict[str, str]]] = {}
    for row in analysis.rows:
        if row["kind"] == kind:
            runs.setdefault(row["run"], []).append(row)
    return runs


def _combine(parts: Sequence[bool]) -> str:
    if not parts:
        return UNTESTED
    if all(parts):
        return HOLDS
    return PARTLY if any(parts) else FAILS


def claim_collapse(results: Sequence[Result], root: Path) -> Claim:
    """Claim 1: SE tables fall far below random, and their IA does not grow with the width."""
    lines: List[str] = []
    below_random: List[bool] = []
    sources: Dict[str, List[bool]] = {}
    figure = None
    best_epochs = -1
    for analysis in _of(results, "analysis"):
        for run, rows in _runs(analysis, "SE").items():
            ratios = [float(r["ia"]) / float(r["random_ia"]) for r in rows]
            below = sum(x < 1 for x in ratios)
            below_random.append(below == len(rows))
            sources.setdefault(analysis.name, []).append(below == len(rows))
            epochs = int(float(rows[0]["epochs"]))
            lines.append(
                f"- {_link(analysis, root)}, run `{run}` ({rows[0]['model']}, width {rows[0]['width']}, "
                f"{epochs} epochs): {below} of {len(rows)} fields below a random matrix of their shape, "
                f"IA / random IA {min(ratios):.2f} to {max(ratios):.2f}."
            )
            png = analysis.path / f"ia_per_field_{file_slug(run)}.png"
            if png.exists() and epochs > best_epochs:
                best_epochs, figure = epochs, (str(png.relative_to(root)), f"per-field IA of {run} against random")
    width_parts: List[bool] = []
    for study in _of(results, "study"):
        cells = study_cells(study)
        scales = sorted(n for (v, n) in cells if v == "SE")
        if len(scales) < 2:
            continue
        low, high = scales[0], scales[-1]
        ia_low, ia_high = (np.mean(_column(cells[("SE", n)], "ia_mean")) for n in (low, high))
        nia_low, nia_high = (np.mean(_column(cells[("SE", n)], "ia_normalised_mean")) for n in (low, high))
        growth, widen = ia_high / ia_low, high / low
        narrower = bool(growth < widen)
        width_parts.append(narrower)
        sources.setdefault(study.name, []).append(narrower)
        lines.append(
            f"- {_link(study, root)}: SE widened {widen:g}x ({low}x to {high}x) raised the mean per-field IA "
            f"{growth:.2f}x ({ia_low:.2f} to {ia_high:.2f}); normalised IA {nia_low:.3f} to {nia_high:.3f}."
        )
    parts = ([all(below_random)] if below_random else []) + ([all(width_parts)] if width_parts else [])
    verdict = _combine(parts)
    summary = []
    if below_random:
        summary.append(
            "every SE table lies below a random matrix of its shape"
            if all(below_random)
            else f"{sum(below_random)} of {len(below_random)} SE runs have every field below random"
        )
    if width_parts:
        summary.append(
            "IA grows less than the width in every study"
            if all(width_parts)
            else f"IA grows less than the width in {sum(width_parts)} of {len(width_parts)} studies"
        )
    head = [f"**{verdict}**" + (": " + "; ".join(summary) + "." if summary else ".")]
    return Claim(1, "single-embedding tables collapse", verdict, head + [""] + lines, figure, _by_source(sources))


def claim_toy(results: Sequence[Result], root: Path) -> Claim:
    """Claim 2: trained against a small field, E1's IA ends lower than against a large one."""
    lines: List[str] = []
    sources: Dict[str, List[bool]] = {}
    figure = None
    for toy in _of(results, "toy"):
        by_dim: Dict[str, Dict[Tuple[str, str], List[Dict[str, str]]]] = {}
        for row in toy.rows:
            by_dim.setdefault(row["dim"], {}).setdefault((row["d3"], row["seed"]), []).append(row)
        for dim, runs in sorted(by_dim.items(), key=lambda kv: int(kv[0])):
            d3s = sorted({int(d) for d, _ in runs})
            if len(d3s) < 2:
                continue
            small, large = str(d3s[0]), str(d3s[-1])
            seeds = sorted({s for _, s in runs}, key=int)
            final = {key: float(max(rows, key=lambda r: int(r["step"]))["ia"]) for key, rows in runs.items()}
            start = {key: float(min(rows, key=lambda r: int(r["step"]))["ia"]) for key, rows in runs.items()}
            lower = [
                final[(small, s)] < final[(large, s)] for s in seeds if (small, s) in final and (large, s) in final
            ]
            sources.setdefault(toy.name, []).append(bool(lower) and all(lower))
            steps = max(int(r["step"]) for rows in runs.values() for r in rows)
            lines.append(
                f"- {_link(toy, root)}, K = {dim}, {steps:,} steps: IA(E1) from "
                f"{np.mean([start[(small, s)] for s in seeds]):.1f} to "
                f"{mean_std_text([final[(small, s)] for s in seeds], 1)} against D3 = {small}, to "
                f"{mean_std_text([final[(large, s)] for s in seeds], 1)} against D3 = {large}; lower with D3 = {small} "
                f"on {sum(lower)} of {len(lower)} seeds."
            )
        if (toy.path / "toy.png").exists():
            figure = (str((toy.path / "toy.png").relative_to(root)), "IA(E1) over training, small and large D3")
    verdict = _combine(_all_parts(sources))
    head = f"**{verdict}**" + (": the ordering holds on every seed." if verdict == HOLDS else ".")
    return Claim(2, "the interaction-collapse law (toy)", verdict, [head, ""] + lines, figure, _by_source(sources))


def claim_me_abundance(results: Sequence[Result], root: Path) -> Claim:
    """Claim 3: the concatenated ME tables are more abundant than an SE table of the same width."""
    lines: List[str] = []
    sources: Dict[str, List[bool]] = {}
    figure = None
    for study in _of(results, "study"):
        cells = study_cells(study)
        for scale in sorted({n for (v, n) in cells if v == "ME"}):
            if ("SE", scale) not in cells:
                continue
            se, me = cells[("SE", scale)], cells[("ME", scale)]
            values = {k: (np.mean(_column(se, k)), np.mean(_column(me, k))) for k in ("ia_mean", "erank_mean")}
            higher = values["ia_mean"][1] > values["ia_mean"][0]
            sources.setdefault(study.name, []).append(bool(higher))
            lines.append(
                f"- {_link(study, root)}, {scale}x: mean per-field IA {values['ia_mean'][1]:.2f} for ME "
                f"({scale} x {me[0]['embedding_dim']}) against {values['ia_mean'][0]:.2f} for SE (width "
                f"{se[0]['width']}); effective rank {values['erank_mean'][1]:.2f} against "
                f"{values['erank_mean'][0]:.2f} ({len(me)} and {len(se)} seeds)."
            )
    for analysis in _of(results, "analysis"):
        for run, rows in _runs(analysis, "ME").items():
            if not rows[0].get("se_run"):
                continue
            higher = sum(float(r["ia"]) > float(r["se_ia"]) for r in rows)
            sources.setdefault(analysis.name, []).append(
                bool(np.mean(_column(rows, "ia")) > np.mean(_column(rows, "se_ia")))
            )
            lines.append(
                f"- {_link(analysis, root)}, `{run}` against `{rows[0]['se_run']}` ({rows[0]['epochs']} epochs): "
                f"higher IA on {higher} of {len(rows)} fields (mean {np.mean(_column(rows, 'ia')):.2f} against "
                f"{np.mean(_column(rows, 'se_ia')):.2f})."
            )
            png = analysis.path / f"me_sets_{file_slug(run)}.png"
            if png.exists():
                figure = (str(png.relative_to(root)), f"each set of {run}, the concatenated sets, random and SE")
    parts = _all_parts(sources)
    verdict = _combine(parts)
    head = f"**{verdict}**" + (
        f": ME's concatenated tables have the higher mean IA in {sum(parts)} of {len(parts)} comparisons "
        "(a study's scale, or an analysed ME run against its SE run)."
        if parts
        else ": no study with SE and ME at one scale."
    )
    title = "ME's tables are more abundant than an SE table of the same width"
    return Claim(3, title, verdict, [head, ""] + lines, figure, _by_source(sources))


def _auc(cells, variant, scale) -> List[float]:
    return _column(cells.get((variant, scale), []), "test_auc")


def claim_scaling(results: Sequence[Result], root: Path) -> Claim:
    """Claim 4: ME's AUC rises with the number of sets; SE's stays flat or falls."""
    lines: List[str] = []
    sources: Dict[str, List[bool]] = {}
    figure = None
    for study in _real_first(_of(results, "study")):
        cells = study_cells(study)
        if ("SE", 1) not in cells:
            continue
        base = np.mean(_auc(cells, "SE", 1))
        se_scales = sorted(n for (v, n) in cells if v == "SE" and n > 1)
        me_scales = sorted(n for (v, n) in cells if v == "ME")
        if not me_scales and not se_scales:
            continue
        row = [f"1x {base:.5f}"]
        for n in sorted(set(se_scales) | set(me_scales)):
            se = f"SE {np.mean(_auc(cells, 'SE', n)):.5f}" if n in se_scales else "SE -"
            me = f"ME {np.mean(_auc(cells, 'ME', n)):.5f}" if n in me_scales else "ME -"
            row.append(f"{n}x {se}, {me}")
        said = []
        if me_scales:
            gain = np.mean(_auc(cells, "ME", me_scales[-1])) - base
            sources.setdefault(study.name, []).append(bool(gain > NOISE_AUC))
            said.append(
                f"ME at {me_scales[-1]}x {gain:+.5f} against 1x ({'rises' if gain > NOISE_AUC else 'does not rise'})"
            )
        if se_scales:
            gain = np.mean(_auc(cells, "SE", se_scales[-1])) - base
            sources.setdefault(study.name, []).append(bool(gain <= NOISE_AUC))
            said.append(f"SE at {se_scales[-1]}x {gain:+.5f} ({'flat or falling' if gain <= NOISE_AUC else 'rises'})")
        caveats = study_caveats(study)
        lines.append(
            f"- {_link(study, root)} (test AUC, mean over seeds: "
            + "; ".join(row)
            + "): "
            + "; ".join(said)
            + "."
            + (" Limits: " + "; ".join(caveats) + "." if caveats else "")
        )
        if (study.path / "auc_vs_scale.png").exists() and figure is None:
            figure = (str((study.path / "auc_vs_scale.png").relative_to(root)), f"test AUC against scale, {study.name}")
    parts = _all_parts(sources)
    verdict = _combine(parts)
    head = f"**{verdict}**" + (
        f" (differences under {NOISE_AUC:g} count as none)."
        if parts
        else ": no study with SE at 1x and a larger scale."
    )
    title = "ME's AUC rises with the number of sets while SE's stays flat or falls"
    return Claim(4, title, verdict, [head, ""] + lines, figure, _by_source(sources))


def claim_shared_interaction(results: Sequence[Result], root: Path) -> Claim:
    """Claim 5: ME with one shared interaction module (ME-SI) scales worse than ME."""
    lines: List[str] = []
    verdicts: Dict[str, str] = {}
    figure = None
    for study in _real_first(_of(results, "study")):
        cells = study_cells(study)
        shared = sorted(n for (v, n) in cells if v == "ME-SI" and ("ME", n) in cells)
        if not shared:
            continue
        for n in shared:
            me, mesi = _auc(cells, "ME", n), _auc(cells, "ME-SI", n)
            lines.append(f"- {_link(study, root)}, {n}x: ME {mean_std_text(me)}, ME-SI {mean_std_text(mesi)}.")
        n = shared[-1]
        me, mesi = _auc(cells, "ME", n), _auc(cells, "ME-SI", n)
        gap = float(np.mean(me) - np.mean(mesi))
        threshold = max(NOISE_AUC, float(np.std(me)), float(np.std(mesi)))
        caveats = study_caveats(study)
        verdicts[study.name] = HOLDS if gap > threshold else FAILS if gap < -threshold else NOT_SHOWN
        lines.append(
            f"  At {n}x ME - ME-SI = {gap:+.5f} against a noise level of {threshold:.5f}: "
            + ("ME ahead." if gap > threshold else "ME-SI ahead." if gap < -threshold else "not separated.")
            + (" Limits: " + "; ".join(caveats) + "." if caveats else "")
        )
        if (study.path / "auc_vs_scale.png").exists() and figure is None:
            figure = (str((study.path / "auc_vs_scale.png").relative_to(root)), f"test AUC against scale, {study.name}")
    found = set(verdicts.values())
    if not found:
        verdict = UNTESTED
    elif len(found) == 1:
        verdict = found.pop()
    elif HOLDS in found:
        verdict = PARTLY
    else:
        verdict = FAILS if FAILS in found else NOT_SHOWN
    head = {
        UNTESTED: f"**{verdict}**: no study with ME-SI cells (`mezoo.scaling --ablations`).",
        NOT_SHOWN: f"**{verdict}**: ME and ME-SI are not separated beyond their noise.",
        FAILS: f"**{verdict}**: where they are separated, ME-SI is ahead of ME.",
    }.get(verdict, f"**{verdict}**.")
    title = "ME with one shared interaction module (ME-SI) scales worse than ME"
    return Claim(5, title, verdict, [head, ""] + lines, figure, verdicts)


# ---------------------------------------------------------------- page


WHY_IT_MAY_DIFFER = (
    "Where a claim holds only in part, note what separates these runs from the paper's: the paper "
    "measured on Criteo and Avazu (about 45 and 40 million rows, vocabularies up to millions of ids) "
    "after full training; a data set of a few hundred thousand rows gives a wider model little more "
    "to learn, a field with fewer rows than the width caps its IA at its row count whatever the "
    "model does, and cells cut short compare models part-way to convergence, where a wider table "
    "may only be slower to train."
)


def parity_section(results: Sequence[Result], root: Path) -> List[str]:
    lines: List[str] = []
    for parity in _of(results, "parity"):
        run = [r for r in parity.rows if r.get("test_auc")]
        within = [r for r in run if r.get("within_tolerance") == "True"]
        lines += [
            f"{_link(parity, root)}: {len(within)} of {len(run)} families run are within 0.003 below BARS or above "
            f"({len(parity.rows) - len(run)} not run).",
            "",
            "| family | BARS test AUC | mezoo test AUC | gap | epochs (best) |",
            "|---|---|---|---|---|",
        ]
        for r in parity.rows:
            if r.get("test_auc"):
                lines.append(
                    f"| {r['family']} | {float(r['bars_test_auc']):.4f} | {float(r['test_auc']):.5f} | "
                    f"{float(r['gap']):+.4f} | {r['epochs']} ({r['best_epoch']}) |"
                )
            else:
                lines.append(f"| {r['family']} | {float(r['bars_test_auc']):.4f} | not run | - | - |")
        lines.append("")
    return lines


def _command_of(result: Result) -> str:
    if result.kind == "study" and result.meta.get("provenance"):
        return result.meta["provenance"].get("command", "")
    page = result.path / PAGES[result.kind]
    if page.exists():
        match = re.search(r"Command: `([^`]*)`", page.read_text())
        if match:
            return match.group(1)
    return ""


def markdown(results: Sequence[Result], root: Path, info: Dict[str, str]) -> str:
    claims = [
        claim_collapse(results, root),
        claim_toy(results, root),
        claim_me_abundance(results, root),
        claim_scaling(results, root),
        claim_shared_interaction(results, root),
    ]
    lines = [
        "# What mezoo's runs show: the paper's five claims",
        "",
        "Written by `python -m mezoo.report`; do not edit by hand. Each verdict is computed from the tables the "
        "commands wrote into the directories linked below, by the rules in `mezoo/evidence/report.py` (claim "
        "numbers as in docs/method.md §5); each directory's own page gives its command, date, commit and machine.",
        "",
        "| claim | verdict | by result directory |",
        "|---|---|---|",
    ]
    lines += [
        f"| {c.number}. {c.title} | {c.verdict} | "
        + "; ".join(f"{name}: {verdict.lower()}" for name, verdict in c.sources.items())
        + " |"
        for c in claims
    ]
    lines += ["", "## The zoo against BARS", ""]
    lines += parity_section(results, root) or ["No parity table (`python -m mezoo.parity`).", ""]
    for c in claims:
        lines += [f"## Claim {c.number}: {c.title}", ""] + c.lines + [""]
        if c.figure:
            lines += [f"![{c.figure[1]}]({c.figure[0]})", ""]
    if any(c.verdict != HOLDS for c in claims):
        lines += ["## Why a result here may differ from the paper's", "", WHY_IT_MAY_DIFFER, ""]
    lines += ["## Every result directory", "", "| directory | kind | data | command |", "|---|---|---|---|"]
    for result in results:
        data = study_data(result) if result.kind == "study" else "-"
        lines.append(f"| {_link(result, root)} | {result.kind} | {data} | `{_command_of(result)}` |")
    lines += ["", "## Provenance", "", prov.provenance_markdown(info)]
    return "\n".join(lines) + "\n"


def write_report(root, out=None, argv: Optional[Sequence[str]] = None) -> Path:
    """Writes the claims page for the results under `root` (default: `root/README.md`)."""
    root = Path(root)
    results = collect(root)
    if not results:
        raise ValueError(f"{root}: no results (toy.csv, fields.csv, scaling.csv or parity.csv) in its subdirectories")
    out = Path(out) if out else root / "README.md"
    info = prov.provenance("mezoo.report", None if argv is None else list(argv))
    out.write_text(markdown(results, root, info))
    return out
