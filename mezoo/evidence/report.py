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

Example:
>>> write_report("docs/results")  # doctest: +SKIP
"""

import csv
import dataclasses
import io
import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mezoo.evidence import convergence, paper_tables, rules
from mezoo.evidence import provenance as prov
from mezoo.evidence.labels import LabelFinder
from mezoo.evidence.noise import Interval, PairedAUC, holm, mean_sd, means_interval, welch_interval
from mezoo.evidence.table_checks import ReportInputError, check_rows
from mezoo.evidence.variants import Variant

REPLICATES = 1000  # bootstrap replicates of the test rows
LARGE_FIELD = 4  # claim 1 reads fields whose measured rows are at least this many times the width
FILES = {"toy": "toy.csv", "analysis": "fields.csv", "study": "scaling.csv", "parity": "parity.csv"}
PAGES = {"toy": "README.md", "analysis": "summary.md", "study": "scaling.md", "parity": "parity.md"}
REQUIRED = {
    "toy": ("dim", "d3", "seed", "step", "loss", "ia"),
    "analysis": ("run", "kind", "field"),
    "study": ("fraction", "variant", "scale", "seed", "width", "test_auc"),
    "parity": ("family", "bars_test_auc"),
}


# ---------------------------------------------------------------- reading


def read_table(path: Path, required: Sequence[str] = (), kind: Optional[str] = None) -> List[Dict[str, str]]:
    """A CSV the commands wrote, every row whole: a truncated or damaged file is an error naming it.

    `kind`: a table of `table_checks.RULES`, whose values and keys are checked (impossible ones are errors).
    """
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise ReportInputError(f"{path}: not UTF-8 text (byte {error.start}); restore the file") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in required if c not in (reader.fieldnames or [])]
    if missing:
        raise ReportInputError(f"{path}: header lacks {missing}: not a table its command wrote")
    numbered = []
    for row in reader:
        if None in row or any(value is None for value in row.values()):
            raise ReportInputError(
                f"{path}, line {reader.line_num}: {len(row)} columns, not the header's: truncated or damaged"
            )
        numbered.append((reader.line_num, row))
    if text and not text.endswith("\n"):
        raise ReportInputError(f"{path}: the last line has no end: the file was cut")
    if kind is not None:
        check_rows(path, kind, numbered)
    return [row for _, row in numbered]


def read_json(path: Path) -> Dict:
    try:
        data = json.loads(Path(path).read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ReportInputError(f"{path}: not valid JSON ({error}): restore the file") from None
    if not isinstance(data, dict):
        raise ReportInputError(f"{path}: not a JSON object")
    return data


@dataclasses.dataclass
class Result:
    """One subdirectory of the results directory: its kind, rows and metadata."""

    path: Path
    kind: str  # "toy", "analysis", "study", "parity"
    rows: List[Dict[str, str]]
    meta: Dict = dataclasses.field(default_factory=dict)
    epochs: List[Dict[str, str]] = dataclasses.field(default_factory=list)  # a study's abundance_by_epoch.csv
    files: List[Path] = dataclasses.field(default_factory=list)  # every file read, for the page's digests

    @property
    def name(self) -> str:
        return self.path.name

    def link(self, root: Path) -> str:
        page = self.path / PAGES[self.kind]
        return f"[{self.name}]({page.relative_to(root)})"


def collect(root) -> List[Result]:
    """Every result under `root`, by the file its command writes; directories without one are skipped."""
    results = []
    for directory in sorted(p for p in Path(root).iterdir() if p.is_dir()):
        for kind, name in FILES.items():
            if not (directory / name).exists():
                continue
            result = Result(directory, kind, read_table(directory / name, REQUIRED[kind], kind))
            result.files.append(directory / name)
            if (directory / "provenance.json").exists():
                result.meta["provenance"] = read_json(directory / "provenance.json")
                result.files.append(directory / "provenance.json")
            if kind == "study":
                if (directory / "study.json").exists():
                    result.meta = {**result.meta, **read_json(directory / "study.json")}
                    result.files.append(directory / "study.json")
                if (directory / "abundance_by_epoch.csv").exists():
                    epochs = directory / "abundance_by_epoch.csv"
                    result.epochs = read_table(epochs, ("cell", "epoch", "field"), "epochs")
                    result.files.append(epochs)
            results.append(result)
    return results


def _f(value) -> Optional[float]:
    try:
        return None if value in (None, "", "None") else float(value)
    except ValueError:
        return None


def _of(results: Sequence[Result], kind: str) -> List[Result]:
    return [r for r in results if r.kind == kind]


# ---------------------------------------------------------------- studies


def cell_key(row: Dict[str, str]) -> str:
    variant = row["variant"].lower().replace("-", "")
    fraction = float(row["fraction"])
    return f"{variant}_x{int(row['scale'])}_seed{int(row['seed'])}" + ("" if fraction == 1.0 else f"_data{fraction:g}")


class Study:
    """A scaling study read back: its cells, protocol, and the intervals of its comparisons."""

    def __init__(self, result: Result, finder: LabelFinder):
        self.result, self.finder = result, finder
        self.name = result.name
        self.rows = result.rows
        resolved = result.meta.get("resolved_recipe") or {}
        self.model = (resolved.get("model") or {}).get("name") or _model_of(result.meta.get("recipe", self.name))
        self.structure = (resolved.get("model") or {}).get("structure", "stacked")
        self.protocol = protocol_of(resolved) if resolved else "not recorded"
        self.synthetic = bool(result.meta.get("synthetic")) or any(
            str(n).startswith("SYNTHETIC") for n in result.meta.get("data", [])
        )
        self.has_predictions = bool(self.rows) and all(r.get("predictions") for r in self.rows)
        self.null = result.meta.get("train_labels", "true") != "true"  # a permuted-label study
        self._boot: Optional[PairedAUC] = None
        self._labels_checked = False
        self._replicates: Dict[str, np.ndarray] = {}
        self._exact: Dict[str, float] = {}

    def cells(self, variant: str, scale: int, fraction: float = 1.0) -> List[Dict[str, str]]:
        return [
            r
            for r in self.rows
            if r["variant"] == variant and int(r["scale"]) == scale and abs(float(r["fraction"]) - fraction) < 1e-9
        ]

    def scales(self, variant: str, fraction: float = 1.0) -> List[int]:
        return sorted(
            {int(r["scale"]) for r in self.rows if r["variant"] == variant and float(r["fraction"]) == fraction}
        )

    def fractions(self) -> List[float]:
        return sorted({float(r["fraction"]) for r in self.rows})

    def aucs(self, variant: str, scale: int, fraction: float = 1.0) -> List[float]:
        return [float(r["test_auc"]) for r in self.cells(variant, scale, fraction) if _f(r["test_auc"]) is not None]

    # -- test AUC differences

    def bootstrap(self) -> Optional[PairedAUC]:
        if not self._labels_checked:
            self._labels_checked = True
            if self.has_predictions:
                digests = {(r["labels_sha256"], int(float(r["test_rows"]))) for r in self.rows}
                if len(digests) == 1:
                    digest, rows = digests.pop()
                    labels = self.finder.find(digest, rows)
                    if labels is not None:
                        self._boot = PairedAUC(labels, replicates=REPLICATES, seed=0)
        return self._boot

    def _scores(self, row: Dict[str, str]):
        import zipfile
        import zlib

        from mezoo.training.predictions import load_predictions

        path = self.result.path / row["predictions"]
        try:
            kept = load_predictions(path)
        except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, zlib.error) as error:
            raise ReportInputError(
                f"{path}: not a predictions file as mezoo.scaling keeps them (truncated or damaged: "
                f"{type(error).__name__}); restore it or train the cell again"
            ) from None
        if (kept["labels_sha256"], kept["rows"]) != (row["labels_sha256"], int(float(row["test_rows"]))):
            raise ReportInputError(
                f"{path}: scored on other test rows ({kept['rows']} rows, labels sha256 {kept['labels_sha256'][:12]}) "
                f"than scaling.csv says for cell {cell_key(row)}: restore the file or the table"
            )
        return kept["probability"]

    def _cell_figures(self, row: Dict[str, str]) -> Tuple[float, np.ndarray]:
        key = cell_key(row)
        if key not in self._replicates:
            boot = self.bootstrap()
            assert boot is not None
            scores = self._scores(row)
            self._exact[key] = boot.auc(scores)
            self._replicates[key] = boot.replicate_aucs(scores)
        return self._exact[key], self._replicates[key]

    def auc_difference(self, a: Sequence[Dict[str, str]], b: Sequence[Dict[str, str]]) -> Interval:
        """mean test AUC of cells `a` minus cells `b`, over seeds and test rows (`noise.auc_difference`)."""
        a_auc = [float(r["test_auc"]) for r in a]
        b_auc = [float(r["test_auc"]) for r in b]
        if not a or not b:
            return welch_interval(a_auc, b_auc)
        if self.bootstrap() is None:
            why = "predictions not kept" if not self.has_predictions else "test labels not found on this machine"
            return Interval(float(np.mean(a_auc) - np.mean(b_auc)), None, None, (len(a), len(b)), why)
        fa = [self._cell_figures(r) for r in a]
        fb = [self._cell_figures(r) for r in b]
        replicates = np.mean([f[1] for f in fa], axis=0) - np.mean([f[1] for f in fb], axis=0)
        return welch_interval([f[0] for f in fa], [f[0] for f in fb], extra_variance=float(np.var(replicates, ddof=1)))

    # -- abundance

    def epoch_rows(self, key: str) -> List[Dict[str, str]]:
        return [r for r in self.result.epochs if r["cell"] == key]

    def ratio(self, row: Dict[str, str], fields: Optional[Sequence[str]] = None, epoch: Optional[int] = None):
        """Mean over fields of IA / same-shape random IA at the best epoch (or `epoch`), None without data."""
        rows = self.epoch_rows(cell_key(row))
        rows = [r for r in rows if (r["best"] == "True" if epoch is None else int(r["epoch"]) == epoch)]
        read = [_f(r["ia_vs_random"]) for r in rows if fields is None or r["field"] in fields]
        values = [v for v in read if v is not None and not np.isnan(v)]
        return float(np.mean(values)) if values else None

    def epochs_trained(self, row: Dict[str, str]) -> int:
        return int(float(row.get("epochs") or 0))


def _model_of(recipe: str) -> str:
    return Path(str(recipe)).stem.split("_")[0]


def protocol_of(resolved: Dict) -> str:
    """The training protocol a resolved recipe follows: BARS', the paper's, or custom."""
    model, train = resolved.get("model") or {}, resolved.get("train") or {}
    if float(model.get("embedding_l2_regularization") or 0.0) > 0 and train.get("reduce_lr_factor"):
        return "BARS'"
    if not train.get("reduce_lr_factor") and float(model.get("l2_regularization") or 0.0) > 0:
        return "the paper's"
    return "a custom"


def protocol_details(resolved: Dict) -> str:
    """The protocol's settings in words (regularisation, schedule, batch, patience)."""
    model, train = resolved.get("model") or {}, resolved.get("train") or {}
    parts = []
    if float(model.get("embedding_l2_regularization") or 0.0) > 0:
        parts.append(f"embedding L2 {float(model['embedding_l2_regularization']):g}")
    if float(model.get("l2_regularization") or 0.0) > 0:
        parts.append(f"coupled L2 {float(model['l2_regularization']):g} on every weight")
    parts.append(
        f"learning rate x{train['reduce_lr_factor']:g} on plateaus" if train.get("reduce_lr_factor") else "no schedule"
    )
    batch = (resolved.get("data") or {}).get("batch_size")
    parts += [f"batch {batch}", f"patience {train.get('early_stopping_patience')}"]
    return ", ".join(parts)


def study_title(study: Study) -> str:
    structure = f" ({study.structure})" if study.model == "dcnv2" else ""
    return f"{study.model}{structure}, {study.protocol} protocol"


# ---------------------------------------------------------------- claims


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
        figure = figure or _figure(study.result, "ia_vs_scale.png", root, f"abundance against scale, {study.name}")
    lines.append(
        f"- A random table scores 1 at every width; fields with fewer than {LARGE_FIELD}x the width in rows are left "
        "out: their IA is capped by their rows, not by collapse."
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
            interval = family.test((2, toy.name, dim), welch_interval(final[d3s[-1]], final[d3s[0]]))
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


# ---------------------------------------------------------------- other sections


def side_by_side(studies: Sequence[Study]) -> List[str]:
    """The AUC deltas against 1x of SE and ME at 4x and 10x: Frappe's with intervals, the paper's means."""
    header = ["| source | SE 4x - 1x | ME 4x - 1x | SE 10x - 1x | ME 10x - 1x |", "|---|---|---|---|---|"]
    lines = [
        "The paper has no Frappe numbers: these rows test whether its claims transfer to a small data set "
        "(Frappe_x1: 288,609 rows, 10 fields) rather than reproduce its tables. Frappe deltas are means over seeds "
        "with 95% intervals over seeds and test rows; the paper's are differences of 3-run means (noise about 3e-4).",
        "",
        *header,
    ]
    for study in studies:
        base = study.cells(Variant.SE, 1)
        if not base:
            continue
        cells = []
        for n in (4, 10):
            for variant in (Variant.SE, Variant.ME):
                rows = study.cells(variant, n)
                cells.append(study.auc_difference(rows, base).text(4) if rows else "-")
        lines.append(
            f"| Frappe_x1, {study_title(study)} | " + " | ".join([cells[0], cells[1], cells[2], cells[3]]) + " |"
        )
    for dataset, models in paper_tables.TABLE.items():
        for model, row in models.items():
            se, me = row[Variant.SE], row[Variant.ME]
            cells = [f"{table[n] - se[1]:+.5f}" if n in table else "-" for n in (4, 10) for table in (se, me)]
            lines.append(f"| paper, {dataset.capitalize()}, {model} | " + " | ".join(cells) + " |")
    return lines + [""]


def data_size(studies: Sequence[Study]) -> List[str]:
    """Studies with a data-size axis: SE 1x, SE 4x and ME 4x at each fraction of the training data."""
    lines: List[str] = []
    for study in studies:
        fractions = study.fractions()
        if len(fractions) < 2 or not study.cells(Variant.ME, 4, fractions[0]):
            continue
        lines += [
            f"{study.name} ({study_title(study)}):",
            "",
            "| training rows | SE 1x | SE 4x | ME 4x | ME 4x - SE 4x | ME 4x - SE 1x |",
            "|---|---|---|---|---|---|",
        ]
        for f in fractions:
            se1, se4, me4 = (study.cells(v, n, f) for v, n in ((Variant.SE, 1), (Variant.SE, 4), (Variant.ME, 4)))
            lines.append(
                f"| {'all' if f == 1.0 else f'{f:g}'} | {mean_sd(study.aucs('SE', 1, f))} | "
                f"{mean_sd(study.aucs('SE', 4, f))} | "
                f"{mean_sd(study.aucs('ME', 4, f))} | {study.auc_difference(me4, se4).text()} | "
                f"{study.auc_difference(me4, se1).text()} |"
            )
        lines.append("")
    return lines


def paper_section() -> List[str]:
    """Claim 4 on the paper's Table 1: its 3-run means read with a per-run sd of 3e-4 and of 5e-4."""
    lines = [
        "The paper reports 3-run means and standard deviations of 2e-5 to 5e-4, with no per-run values: each "
        "difference of two means is read with a per-run sd at the paper's typical 3e-4 and at its upper 5e-4 "
        f"({paper_tables.RUNS} runs each, a normal interval), through claim 4's rule, uncorrected.",
        "",
        "| data | model | largest scale | ME - SE | ME - 1x | SE - 1x | sd 3e-4 | sd 5e-4 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    overall: Dict[float, List[str]] = {sd: [] for sd in paper_tables.NOISE_LEVELS}
    for dataset, models in paper_tables.TABLE.items():
        for model, row in models.items():
            se, me = row[Variant.SE], row[Variant.ME]
            largest = max(n for n in me if n in se)
            deltas = (me[largest] - se[largest], me[largest] - se[1], se[largest] - se[1])
            verdicts = []
            for sd in paper_tables.NOISE_LEVELS:
                verdict = rules.scaling(*(means_interval(d, sd, paper_tables.RUNS) for d in deltas))
                overall[sd].append(verdict)
                verdicts.append(verdict.lower())
            lines.append(
                f"| {dataset.capitalize()} | {model} | {largest}x | "
                + " | ".join(f"{d:+.5f}" for d in deltas)
                + f" | {' | '.join(verdicts)} |"
            )
    summary = "; ".join(
        f"at sd {sd:g}: {rules.overall(v).lower()} ({', '.join(f'{v.count(x)} {x.lower()}' for x in sorted(set(v)))})"
        for sd, v in overall.items()
    )
    return lines + [
        "",
        f"Over the 12 rows, {summary}. As worded (\"while SE's stays flat or falls\"), the paper's own table meets "
        "claim 4 only partly: where SE rises too, the rule says partly holds at most.",
        "",
    ]


def null_section(nulls: Sequence["Study"], root: Path) -> List[str]:
    """Claims 3 and 4 on studies trained with permuted labels, by the same rules, each test alone."""
    lines = [
        "Trained on the training split with its labels permuted (features and click rate kept), these cells can "
        "learn nothing that generalises: the rules must show nothing here. Each test is read alone (uncorrected, "
        "the easier test to fail).",
        "",
    ]
    for claim in (claim_abundance(nulls, root), claim_scaling(nulls, root)):
        lines += [f"Claim {claim.number} on the null: **{claim.verdict}**.", ""] + claim.lines[2:] + [""]
    return lines


def parity_section(parities: Sequence[Result], root: Path) -> List[str]:
    """Each parity table as `mezoo.parity` wrote it (`parity.table_lines`), with its verdicts counted."""
    from mezoo.evidence import parity

    lines: List[str] = []
    for result in parities:
        lines += [f"{result.link(root)}: {parity.summary(result.rows)}.", ""] + parity.table_lines(result.rows) + [""]
    return lines


def smoke_section(studies: Sequence[Study], root: Path) -> List[str]:
    lines = []
    for study in studies:
        per = "; ".join(
            f"{v} {n}x {mean_sd(study.aucs(v, n))}"
            for v in (Variant.SE, Variant.ME, Variant.ME_SI)
            for n in study.scales(v)
        )
        lines.append(f"- {study.result.link(root)} ({study_title(study)}): {per}.")
    return lines


def older_section(studies: Sequence[Study], analyses: Sequence[Result], root: Path) -> List[str]:
    lines = []
    for study in studies:
        lines.append(
            f"- {study.result.link(root)}: no interval: the runs' weights and test predictions were not kept "
            f"({len(study.rows)} cells, {study_title(study)})."
        )
    for analysis in analyses:
        lines.append(f"- {analysis.link(root)}: per-field figures of finished runs (abundance of every table row).")
    return lines


def provenance_section(results: Sequence[Result], root: Path) -> List[str]:
    from mezoo.training.revision import TRAINING_REVISION

    lines = [
        "| directory | kind | data | protocol | command | cells: commits, training revisions |",
        "|---|---|---|---|---|---|",
    ]
    for result in results:
        data = "; ".join(result.meta.get("data", [])) if result.kind == "study" else "-"
        resolved = result.meta.get("resolved_recipe") if result.kind == "study" else None
        protocol = f"{protocol_of(resolved)}: {protocol_details(resolved)}" if resolved else "-"
        command = (result.meta.get("provenance") or {}).get("command", "") or "not recorded"
        cells = "-"
        if result.kind == "study" and result.rows and "git_commit" in result.rows[0]:
            commits = sorted({(r.get("git_commit") or "?")[:10] for r in result.rows})
            revisions = sorted({r.get("training_revision") or "none" for r in result.rows})
            stale = [cell_key(r) for r in result.rows if (_f(r.get("training_revision")) or 0) < TRAINING_REVISION]
            cells = f"{', '.join(commits)}; revision {', '.join(revisions)}" + (
                f"; **trained before revision {TRAINING_REVISION}**: {', '.join(stale)}" if stale else ""
            )
        lines.append(f"| {result.link(root)} | {result.kind} | {data or '-'} | {protocol} | `{command}` | {cells} |")
    return lines + [""]


INPUTS_FILE = "inputs.sha256"  # beside the page: every input's sha256, as `sha256sum -c` reads it


def input_digests(results: Sequence[Result], root: Path) -> Dict[str, str]:
    """The sha256 of every file the page is computed from, by path relative to `root`, sorted by path:
    each result's tables (`Result.files`) and the kept predictions its studies' rows name."""
    import hashlib

    paths = []
    for result in results:
        paths += result.files
        for row in result.rows if result.kind == "study" else []:
            if row.get("predictions"):
                path = result.path / row["predictions"]
                if not path.is_file():
                    raise ReportInputError(
                        f"{path}: the kept predictions of cell {cell_key(row)}, named in scaling.csv, are missing: "
                        "restore the file or train the cell again"
                    )
                paths.append(path)
    digests = {Path(p).relative_to(root).as_posix(): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}
    return dict(sorted(digests.items()))


def inputs_listing(digests: Dict[str, str]) -> str:
    """`INPUTS_FILE`'s text: one `<sha256>  <path>` line per input, in path order."""
    return "".join(f"{digest}  {path}\n" for path, digest in digests.items())


def inputs_section(results: Sequence[Result], digests: Dict[str, str]) -> List[str]:
    """The digests of the inputs, one row per result directory; a study's predictions as one digest."""
    import hashlib

    lines = [
        "Inputs, each by its sha256 (the first 16 hex digits; every digest in full in "
        f"[{INPUTS_FILE}]({INPUTS_FILE}) beside this page, paths relative to the results directory: "
        f"`sha256sum -c {INPUTS_FILE}` there checks them). A study's kept predictions have one digest, the sha256 "
        f"of their lines of {INPUTS_FILE}: `grep '  <study>/predictions/' {INPUTS_FILE} | sha256sum`.",
        "",
        "| directory | files read: sha256 |",
        "|---|---|",
    ]
    for result in results:
        parts = [f"{p.name} `{digests[f'{result.name}/{p.name}'][:16]}`" for p in result.files]
        prefix = f"{result.name}/predictions/"
        kept = {p: d for p, d in digests.items() if p.startswith(prefix)} if result.kind == "study" else {}
        if kept:
            together = hashlib.sha256(inputs_listing(kept).encode()).hexdigest()
            parts.append(f"predictions/ ({len(kept)} files) `{together[:16]}`")
        lines.append(f"| {result.name} | {', '.join(parts)} |")
    return lines + [""]


def added_later_lines(studies: Sequence["Study"], root: Path) -> List[str]:
    """One line per study with cells first asked for by a plan declared after its first (`study.json`)."""
    from mezoo.evidence.scaling import added_later_note

    lines = []
    for study in studies:
        note = added_later_note(study.result.meta.get("plans") or [], [cell_key(r) for r in study.rows])
        if note:
            lines.append(f"- {study.result.link(root)}: {note}")
    return lines + [""] if lines else []


# ---------------------------------------------------------------- page


def markdown(
    results: Sequence[Result],
    root: Path,
    info: Dict[str, str],
    finder: Optional[LabelFinder] = None,
    digests: Optional[Dict[str, str]] = None,
) -> str:
    data_dirs = [p for r in _of(results, "study") for p in _data_dirs(r)]
    finder = finder or LabelFinder(data_dirs)
    studies = [Study(r, finder) for r in _of(results, "study")]
    nulls = [s for s in studies if s.null and not s.synthetic and s.has_predictions]
    evidence = [s for s in studies if not s.synthetic and s.has_predictions and not s.null]
    smoke = [s for s in studies if s.synthetic]
    older = [s for s in studies if not s.synthetic and not s.has_predictions]
    analyses = _of(results, "analysis")
    family = VerdictTests()

    def build() -> List[Claim]:
        return [
            claim_collapse(evidence, root, family),
            claim_toy(_of(results, "toy"), root, family),
            claim_abundance(evidence, root, family),
            claim_scaling(evidence, root, family),
            claim_shared_interaction(evidence, root, family),
        ]

    build()  # records the family of tests that feed verdicts
    family.correct()
    claims = build()
    lines = [
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
        "| claim | verdict | by study |",
        "|---|---|---|",
    ]
    for c in claims:
        by = "; ".join(f"{f.source}: {f.verdict.lower()}" for f in c.findings) or "-"
        lines.append(f"| {c.number}. {c.title} | {c.verdict} | {by} |")
    lines += ["", "## Side by side with the paper", ""] + side_by_side(evidence)
    for c in claims:
        lines += [f"## Claim {c.number}: {c.title}", ""] + c.lines + [""]
        if c.figure:
            lines += [f"![{c.figure[1]}]({c.figure[0]})", ""]
    lines += ["## The paper's own Table 1 under these rules", ""] + paper_section()
    if nulls:
        lines += ["## A null the pipeline must fail: permuted training labels", ""] + null_section(nulls, root)
    size = data_size(evidence)
    if size:
        lines += ["## Does scaling the model need more data?", ""] + size
    lines += ["## The zoo against BARS", ""]
    lines += parity_section(_of(results, "parity"), root) or ["No parity table (`python -m mezoo.parity`).", ""]
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
    from mezoo.atomic import atomic_write

    text = markdown(results, root, info, finder, digests)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(listing, inputs_listing(digests))
    atomic_write(out, text)
    return out
