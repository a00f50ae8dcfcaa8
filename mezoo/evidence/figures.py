"""Headless matplotlib figures of `mezoo.analyze` (PNG, Agg backend: no display needed)."""

import math
from pathlib import Path
from typing import Sequence

import numpy as np

STATS = ("ia", "ia_normalised", "erank")
STAT_LABELS = {
    "ia": "information abundance (IA)",
    "ia_normalised": "normalised IA = IA / min(D, K)",
    "erank": "effective rank exp(H(s / sum s))",
    "ia_vs_random": "IA / IA of a random table of its shape",
}


def pyplot():
    """`matplotlib.pyplot` on the Agg backend, imported on first use."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> Path:
    # Figures are made with layout="constrained", which also keeps the suptitle clear of the panels.
    fig.savefig(path, dpi=110)
    pyplot().close(fig)
    return Path(path)


def _run_title(run) -> str:
    sets = f"{run.num_sets} set{'s' if run.num_sets > 1 else ''}"
    return f"{run.label} ({run.model_name}, {run.kind}, {sets} x width {run.embedding_dim}) on {run.data_label}"


def spectra(fields, run, path) -> Path:
    """Per field: singular values / the largest, learned table against a same-shaped Gaussian (paper Fig. 1b)."""
    plt = pyplot()
    cols = min(5, len(fields))
    rows = math.ceil(len(fields) / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.0 * cols, 2.4 * rows + 0.8), squeeze=False, sharey=True, layout="constrained"
    )
    for ax, field in zip(axes.flat, fields):
        k = np.arange(1, len(field.spectrum) + 1)
        ax.semilogy(k, field.spectrum / field.spectrum[0], color="tab:red", label="learned table")
        ax.semilogy(
            k,
            field.random_spectrum / field.random_spectrum[0],
            color="grey",
            linestyle="--",
            label="random Gaussian, same shape",
        )
        ax.set_title(f"{field.name} ({field.vocab_size:,} x {field.width})", fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(fields) :]:
        ax.axis("off")
    for ax in axes[-1]:
        ax.set_xlabel("singular value index k")
    for ax in axes[:, 0]:
        ax.set_ylabel("s_k / s_1")
    axes.flat[0].legend(fontsize=8, loc="lower left")
    fig.suptitle(f"Normalised singular-value spectra per field\n{_run_title(run)}", fontsize=11)
    return _save(fig, path)


def ia_per_field(fields, run, path) -> Path:
    """IA, normalised IA and effective rank per field (sorted by vocabulary size) beside random matrices."""
    plt = pyplot()
    fields = sorted(fields, key=lambda f: f.vocab_size)
    x = np.arange(len(fields))
    fig, axes = plt.subplots(3, 1, figsize=(max(7.0, 0.45 * len(fields) + 3), 9), sharex=True, layout="constrained")
    for ax, stat in zip(axes, STATS):
        ax.bar(x - 0.2, [f.concat[stat] for f in fields], width=0.4, color="tab:red", label="learned table")
        ax.bar(
            x + 0.2,
            [f.random[stat] for f in fields],
            width=0.4,
            color="lightgrey",
            edgecolor="grey",
            label="random Gaussian, same shape",
        )
        ax.set_ylabel(STAT_LABELS[stat], fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    _label_field_axes(axes, x, fields)
    fig.suptitle(
        f"Per-field abundance of the whole embedding table (width {fields[0].width})\n{_run_title(run)}", fontsize=11
    )
    return _save(fig, path)


def _label_field_axes(axes, x, fields) -> None:
    """Legend on top; fields (with their vocabulary sizes) along the shared x axis."""
    axes[0].legend(fontsize=8)
    axes[-1].set_xticks(
        x, [f"{f.name}\n({f.vocab_size:,})" for f in fields], rotation=60 if len(fields) > 12 else 0, fontsize=8
    )
    axes[-1].set_xlabel("field (vocabulary size D), smallest to largest")


def me_sets(fields, run, path, se_run=None, se_fields=None) -> Path:
    """ME: each set's IA and the concatenation's, against an SE run of equal total width if given."""
    plt = pyplot()
    fields = sorted(fields, key=lambda f: f.vocab_size)
    se_by_name = {f.name: f for f in se_fields or []}
    x = np.arange(len(fields))
    fig, axes = plt.subplots(3, 1, figsize=(max(7.0, 0.5 * len(fields) + 3), 9.5), sharex=True, layout="constrained")
    for ax, stat in zip(axes, STATS):
        width = 0.27 if se_by_name else 0.4
        ax.bar(
            x - width / 2 if not se_by_name else x - width,
            [f.concat[stat] for f in fields],
            width=width,
            color="tab:blue",
            label=f"{run.kind}: {run.num_sets} sets concatenated (width {run.total_width})",
        )
        if se_by_name:
            ax.bar(
                x,
                [se_by_name[f.name].concat[stat] if f.name in se_by_name else np.nan for f in fields],
                width=width,
                color="tab:red",
                label=f"SE {se_run.label} (width {se_run.total_width})",
            )
        ax.bar(
            x + (width if se_by_name else width / 2),
            [f.random[stat] for f in fields],
            width=width,
            color="lightgrey",
            edgecolor="grey",
            label=f"random Gaussian (width {run.total_width})",
        )
        for i, field in enumerate(fields):
            ax.scatter(
                np.full(len(field.sets), i - (width if se_by_name else width / 2)),
                [s[stat] for s in field.sets],
                s=10,
                color="black",
                zorder=3,
                label=f"{run.kind}: each set alone (width {run.embedding_dim})" if i == 0 else None,
            )
        ax.set_ylabel(STAT_LABELS[stat], fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    _label_field_axes(axes, x, fields)
    against = (
        f" against SE at equal width ({se_run.label})" if se_run is not None else " (no SE run of equal width given)"
    )
    fig.suptitle(f"Multi-embedding per set and concatenated{against}:\n{_run_title(run)}", fontsize=11)
    return _save(fig, path)


def cross_blocks(norms: np.ndarray, names: Sequence[str], run, path, max_sets: int = 4) -> Path:
    """Heat map of the first cross layer's field-pair block norms ||W_ij||_F (paper Fig. 8c), per set."""
    plt = pyplot()
    shown = norms[:max_sets]
    n = len(names)
    size = min(8.0, max(4.0, 0.2 * n + 3.0))
    cols = min(2, len(shown))
    rows = math.ceil(len(shown) / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(size * cols + 1.0, size * rows + 0.6), squeeze=False, layout="constrained"
    )
    vmin, vmax = float(shown.min()), float(shown.max())  # the data's range: the pattern, not the offset
    for ax in axes.flat[len(shown) :]:
        ax.axis("off")
    for m, ax in enumerate(axes.flat[: len(shown)]):
        image = ax.imshow(shown[m], cmap="viridis", vmin=vmin, vmax=vmax if vmax > vmin else vmin + 1.0)
        ax.set_xticks(range(n), names, rotation=90, fontsize=7 if n <= 20 else 5)
        ax.set_yticks(range(n), names, fontsize=7 if n <= 20 else 5)
        ax.set_xlabel("output field j")
        ax.set_ylabel("input field i")
        if len(norms) > 1:
            title = f"set {m}"
        else:
            title = "one cross net shared by all sets (ME-SI)" if run.num_sets > 1 else "single embedding"
        ax.set_title(title, fontsize=9)
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="||W_ij||_F")
    more = f" (first {max_sets} of {len(norms)} sets)" if len(norms) > max_sets else ""
    fig.suptitle(f"First cross layer: Frobenius norm of each field-pair block{more}\n{_run_title(run)}", fontsize=10)
    return _save(fig, path)


def ia_over_epochs(runs, path) -> Path:
    """Mean over fields of the whole table's IA, IA / random IA and erank, per epoch, one line per run."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5), layout="constrained")
    stats = ("ia", "ia_vs_random", "erank")
    for run in runs:
        rows = [r for r in run.abundance_rows if r["set"] == "concat"]
        if not rows:
            continue
        epochs = sorted({r["epoch"] for r in rows})
        for ax, stat in zip(axes, stats):
            values = [[np.nan if r.get(stat) is None else r[stat] for r in rows if r["epoch"] == e] for e in epochs]
            means = [np.nanmean(v) for v in values]
            ax.plot(epochs, means, marker="o", label=f"{run.label} ({run.kind}, width {run.total_width})")
    for ax, stat in zip(axes, stats):
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"mean over fields: {STAT_LABELS[stat]}", fontsize=9)
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(4, max(1, len(labels))), fontsize=8)
    data = ", ".join(sorted({run.data_label for run in runs}))
    fig.suptitle(f"Abundance of the whole embedding table over training (after each epoch), {data}", fontsize=11)
    return _save(fig, path)
