"""Figures and a Markdown summary from finished `mezoo.train` run directories (nothing retrains).

For each run: its embedding tables, field by field, against a random Gaussian matrix of the
same shape (the reference a table that has not collapsed resembles): normalised singular-value
spectra, and IA, normalised IA and effective rank, fields sorted by vocabulary size (claim 1).
Only the rows training looked up are measured (the run's `train_row_counts.npz`; a row never
looked up, a field's OOV row on Frappe, keeps its initial values or decays to zero), and the
spectra leave out directions below `DEAD_DIRECTION` of the largest (numerically zero).
For a multi-embedding run: each set's IA and the IA of the concatenated sets, against a
single-embedding run of the same model and equal total width when one is given (claim 3). For
DCNv2: the Frobenius norms of the first cross layer's field-pair blocks. Across runs: IA over
epochs from `abundance.csv`. All abundance figures are `mezoo.abundance`'s.

Example:
>>> analyze(["runs/dcnv2_se_frappe", "runs/dcnv2_me_frappe"], "analysis")  # doctest: +SKIP
"""

import csv
import dataclasses
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from mezoo.abundance import abundance_stats, random_abundance, singular_values
from mezoo.evidence import figures
from mezoo.evidence import provenance as prov
from mezoo.evidence.runs import FinishedRun, read_run, unique_labels
from mezoo.evidence.variants import Variant

STATS = figures.STATS
DEAD_DIRECTION = 1e-7  # singular values below this share of the largest are rounding, left out of spectra


@dataclasses.dataclass
class FieldAbundance:
    """One field of one run: its table's figures and those of a same-shaped random matrix.

    Example:
    >>> fields = field_abundance(read_run("runs/dcnv2_me_frappe"))  # doctest: +SKIP
    >>> fields[0].concat["ia"] / fields[0].random["ia"]  # doctest: +SKIP
    """

    name: str
    vocab_size: int  # rows measured: those training looked up
    width: int
    concat: Dict[str, float]  # abundance_stats of the field's whole table (all sets side by side)
    sets: List[Dict[str, float]]  # abundance_stats of each set's table
    random: Dict[str, float]  # abundance_stats of a Gaussian matrix shaped like `concat`
    spectrum: np.ndarray  # singular values of the whole table, largest first (dead directions left out)
    random_spectrum: np.ndarray
    rows_total: int = 0  # the field's vocabulary rows, those never looked up included

    @property
    def ia_vs_random(self) -> float:
        """IA / the mean IA of same-shape Gaussian tables (`random_abundance`): 1 for an untrained table."""
        return float(self.concat["ia"]) / float(self.random["ia"])

    @property
    def sets_mean(self) -> Dict[str, float]:
        """Each of STATS averaged over the sets."""
        return {k: float(np.mean([s[k] for s in self.sets])) for k in STATS}


def random_reference(rows: int, cols: int, seed: int) -> np.ndarray:
    """A standard Gaussian `rows x cols` float32 matrix (fixed seed per field, so reruns agree)."""
    return np.random.default_rng([seed, rows, cols]).standard_normal((rows, cols), dtype=np.float32)


def live_spectrum(values: np.ndarray) -> np.ndarray:
    """Singular values without the numerically zero ones (below `DEAD_DIRECTION` of the largest)."""
    return values[values > DEAD_DIRECTION * values[0]] if values.size and values[0] > 0 else values


def field_abundance(run: FinishedRun) -> List[FieldAbundance]:
    """Every categorical field of the run's `MultiEmbedding`, in the model's field order (rows looked up only)."""
    import keras

    from mezoo.training.row_counts import COUNTS_FILE, load_row_counts

    layer = run.load_model().multi_embedding
    table = keras.ops.convert_to_numpy(layer.embeddings)
    names = layer.field_names or [str(f) for f in range(layer.num_fields)]
    counts = load_row_counts(run.path / COUNTS_FILE, [str(n) for n in names])
    d, sets = layer.embedding_dim, layer.num_sets
    fields = []
    for f in range(layer.num_fields):
        rows = table[int(layer.offsets[f]) : int(layer.offsets[f + 1])]
        total = int(rows.shape[0])
        if counts is not None:
            rows = rows[counts[f] > 0]
        reference = random_reference(rows.shape[0], rows.shape[1], seed=f)
        random = abundance_stats(reference)
        random["ia"] = random_abundance(rows.shape[0], rows.shape[1])  # the mean over draws, as abundance.csv
        fields.append(
            FieldAbundance(
                name=str(names[f]),
                vocab_size=int(rows.shape[0]),
                width=int(rows.shape[1]),
                concat=abundance_stats(rows),
                sets=[abundance_stats(rows[:, m * d : (m + 1) * d]) for m in range(sets)],
                random=random,
                spectrum=live_spectrum(singular_values(rows)),
                random_spectrum=singular_values(reference),
                rows_total=total,
            )
        )
    return fields


def cross_block_norms(run: FinishedRun) -> Optional[np.ndarray]:
    """`||W_ij||_F` of the first cross layer's `d x d` blocks, `(sets, fields, fields)`; None if no cross net.

    Rows index the input field, columns the output field, in the order the model flattens
    its embeddings (categorical fields, then numeric ones). The regularised DCNv2's learned
    block scales are included (`Cross.effective_kernel`). Only matrix (DCNv2-style) cross
    layers have blocks; DCN v1's vector layers return None.
    """
    import keras

    model = run.load_model()
    names = {layer.name for layer in model.layers}
    if "cross_net" not in names:
        return None
    net = model.get_layer("cross_net")
    if getattr(net, "parameterization", "matrix") != "matrix":
        return None
    first = net.cross_layers[0]
    if getattr(first, "projection_dim", None) is None:
        kernel = keras.ops.convert_to_numpy(first.effective_kernel())
    else:
        u, v = (keras.ops.convert_to_numpy(w) for w in (first.u_kernel, first.v_kernel))
        kernel = u @ v
    if kernel.ndim == 2:
        kernel = kernel[None]
    num_fields, d = model.num_fields, run.embedding_dim
    if kernel.shape[-1] != num_fields * d:
        return None
    blocks = kernel.reshape(kernel.shape[0], num_fields, d, num_fields, d)
    return np.sqrt(np.sum(blocks.astype(np.float64) ** 2, axis=(2, 4)))


def matching_se_run(run: FinishedRun, runs: Sequence[FinishedRun]) -> Optional[FinishedRun]:
    """A single-embedding run of the same model whose width equals the ME run's total width."""
    for other in runs:
        if (
            other is not run
            and other.kind == Variant.SE
            and other.model_name == run.model_name
            and other.total_width == run.total_width
        ):
            return other
    return None


def _field_names(run: FinishedRun) -> List[str]:
    model = run.load_model()
    layer = model.multi_embedding
    names = list(layer.field_names or [str(f) for f in range(layer.num_fields)])
    return names + [str(n) for n in getattr(model, "numeric_fields", [])]


def analyze(
    run_dirs: Sequence, out, argv: Optional[Sequence[str]] = None, verbose: bool = True
) -> Dict[str, List[Path]]:
    """Writes the figures and `summary.md` for `run_dirs` into `out`.

    Args:
        run_dirs: finished run directories (each with model.keras, recipe.yaml, metrics.json).
        out: output directory (created).
        argv: the command's arguments, for the summary's provenance (default: `sys.argv[1:]`).
        verbose: print each file as it is written.

    Returns:
        `{"figures": [...], "summary": [path], "fields": [path of fields.csv]}`.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    labels = unique_labels(run_dirs)
    runs = [read_run(path, label) for path, label in zip(run_dirs, labels)]
    written: List[Path] = []

    def wrote(path):
        written.append(Path(path))
        if verbose:
            print(f"wrote {path}", flush=True)

    per_run: Dict[str, List[FieldAbundance]] = {run.label: field_abundance(run) for run in runs}
    for run in runs:
        slug = file_slug(run.label)
        fields = per_run[run.label]
        wrote(figures.spectra(fields, run, out / f"spectra_{slug}.png"))
        wrote(figures.ia_per_field(fields, run, out / f"ia_per_field_{slug}.png"))
        if run.is_multi_embedding:
            se = matching_se_run(run, runs)
            se_fields = per_run[se.label] if se else None
            wrote(figures.me_sets(fields, run, out / f"me_sets_{slug}.png", se, se_fields))
        norms = cross_block_norms(run)
        if norms is not None:
            wrote(figures.cross_blocks(norms, _field_names(run), run, out / f"cross_blocks_{slug}.png"))
    if any(run.abundance_rows for run in runs):
        wrote(figures.ia_over_epochs(runs, out / "ia_over_epochs.png"))
    fields_csv = write_fields_csv(runs, per_run, out / "fields.csv")
    if verbose:
        print(f"wrote {fields_csv}", flush=True)
    summary = out / "summary.md"
    own = [*written, fields_csv, summary, out / prov.PROVENANCE_FILE]  # uncommitted, but this command's to write
    info = prov.provenance("mezoo.analyze", None if argv is None else list(argv), out, own)
    prov.write_provenance(out, info)
    summary.write_text(summary_markdown(runs, per_run, written, out, info))
    if verbose:
        print(f"wrote {summary}", flush=True)
    return {"figures": written, "summary": [summary], "fields": [fields_csv]}


FIELD_COLUMNS = (
    "run",
    "model",
    "kind",
    "num_sets",
    "embedding_dim",
    "test_auc",
    "epochs",
    "field",
    "vocab_size",
    "rows_total",
    "width",
    *STATS,
    "ia_vs_random",
    *(f"random_{k}" for k in STATS),
    *(f"sets_mean_{k}" for k in STATS),
    "se_run",
    *(f"se_{k}" for k in STATS),
)


def write_fields_csv(runs: Sequence[FinishedRun], per_run: Dict[str, List[FieldAbundance]], path: Path) -> Path:
    """`fields.csv`: one row per run and field with the figures of `summary.md`'s per-field tables.

    The machine-readable form of the summary, read by `mezoo.report` (the `set_` and `se_`
    columns are empty for single-embedding runs and where no matching SE run was given).
    """
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELD_COLUMNS)
        writer.writeheader()
        for run in runs:
            se = matching_se_run(run, runs) if run.is_multi_embedding else None
            se_fields = {f.name: f for f in per_run[se.label]} if se is not None else {}
            for f in per_run[run.label]:
                row = {
                    "run": run.label,
                    "model": run.model_name,
                    "kind": run.kind,
                    "num_sets": run.num_sets,
                    "embedding_dim": run.embedding_dim,
                    "test_auc": run.metrics.get("test_auc"),
                    "epochs": len(run.metrics.get("epochs", [])),
                    "field": f.name,
                    "vocab_size": f.vocab_size,
                    "rows_total": f.rows_total,
                    "width": f.width,
                    **{k: f.concat[k] for k in STATS},
                    "ia_vs_random": f.ia_vs_random,
                    **{f"random_{k}": f.random[k] for k in STATS},
                }
                if run.is_multi_embedding:
                    row.update({f"sets_mean_{k}": v for k, v in f.sets_mean.items()})
                if se is not None and f.name in se_fields:
                    row["se_run"] = se.label
                    row.update({f"se_{k}": se_fields[f.name].concat[k] for k in STATS})
                writer.writerow(row)
    return path


def file_slug(label: str) -> str:
    """A run label as it appears in figure file names (`spectra_<slug>.png`)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in label)


def _fmt(stats: Dict[str, float]) -> str:
    return f"{stats['ia']:.2f} / {stats['ia_normalised']:.3f} / {stats['erank']:.2f}"


def summary_markdown(runs, per_run, written, out: Path, info: Dict[str, str]) -> str:
    """The Markdown summary: runs, per-field tables, ME against SE, figures, provenance."""
    lines = [
        "# Embedding abundance of finished runs",
        "",
        "Written by `python -m mezoo.analyze`; do not edit by hand. Each figure triple is "
        "IA / normalised IA (IA / min(D, K)) / effective rank (exp of the entropy of the normalised "
        "singular values), all from `mezoo.abundance` on the final (best-epoch) tables, over the rows "
        "training looked up (D; the field's whole vocabulary in brackets where it has more). "
        '"random" is a standard Gaussian matrix of the same shape, the reference for a table that has '
        "not collapsed; IA / random IA (random IA: the mean over draws) is the fair comparison across "
        "widths. Raw IA grows with the width K, and normalised IA moves with the aspect ratio D / K even "
        "for random tables.",
        "",
        "## Runs",
        "",
        "| run | model | SE/ME | sets x width | test AUC | best epoch | epochs | mean IA (all fields, whole table) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        test_auc = run.metrics.get("test_auc")
        best = run.metrics.get("best_epoch")
        mean_ia = np.mean([f.concat["ia"] for f in per_run[run.label]])
        lines.append(
            f"| {run.label} | {run.model_name} | {run.kind} | {run.num_sets} x {run.embedding_dim} | "
            f"{'-' if test_auc is None else f'{test_auc:.5f}'} | {'-' if best is None else best} | "
            f"{len(run.metrics.get('epochs', []))} | {mean_ia:.2f} |"
        )
    for run in runs:
        fields = sorted(per_run[run.label], key=lambda f: f.vocab_size)
        se = matching_se_run(run, runs) if run.is_multi_embedding else None
        lines += ["", f"## {run.label}: per field (sorted by vocabulary size)", ""]
        header = (
            "| field | rows D | width K | table: IA / norm. / erank | random: IA / norm. / erank | IA / random IA |"
        )
        sep = "|---|---|---|---|---|---|"
        if run.is_multi_embedding:
            header += " mean over sets: IA / norm. / erank |"
            sep += "---|"
            if se is not None:
                header += f" SE {se.label}: IA / norm. / erank |"
                sep += "---|"
        lines += [header, sep]
        se_fields = {f.name: f for f in per_run.get(se.label, [])} if se is not None else {}
        for f in fields:
            rows = f"{f.vocab_size:,}" + (f" ({f.rows_total:,})" if f.rows_total > f.vocab_size else "")
            row = f"| {f.name} | {rows} | {f.width} | {_fmt(f.concat)} | {_fmt(f.random)} | {f.ia_vs_random:.2f} |"
            if run.is_multi_embedding:
                row += " " + _fmt(f.sets_mean) + " |"
                if se is not None:
                    row += " " + (_fmt(se_fields[f.name].concat) if f.name in se_fields else "-") + " |"
            lines.append(row)
    lines += ["", "## Figures", ""]
    for path in written:
        lines += [f"![{path.stem}]({path.relative_to(out) if path.is_relative_to(out) else path})", ""]
    lines += ["## Provenance", "", prov.provenance_markdown(info)]
    lines += ["Runs:", ""]
    for run in runs:
        command = run.train_command
        lines.append(
            f"- `{run.path}`"
            + (f", trained by `{command}` ({run.metrics.get('data') or 'data not recorded'})" if command else "")
        )
    lines.append("")
    return "\n".join(lines)
