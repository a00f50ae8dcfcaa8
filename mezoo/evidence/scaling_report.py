"""`scaling.md`, `auc_vs_scale.png` and `ia_vs_scale.png` from the finished cells of a study."""

import os
import threading
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from mezoo.evidence import provenance as prov
from mezoo.evidence.figures import pyplot

VARIANT_ORDER = ("SE", "ME", "ME-SI")
COLORS = {"SE": "tab:red", "ME": "tab:blue", "ME-SI": "tab:green"}


def _groups(records) -> Dict:
    """`{(fraction, variant, scale): [records over seeds]}`."""
    groups: Dict = {}
    for record in records:
        groups.setdefault((record["fraction"], record["variant"], record["scale"]), []).append(record)
    return groups


def mean_std_text(values, digits: int = 5) -> str:
    """`mean ± std (n)` of the values that are not None, "-" when there are none."""
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f} ({len(values)})"


def _series(records, variant: str, fraction: float, key: str):
    """Scales and per-scale mean and std of `key` for one variant. SE's scale-1 cell stands for every variant at 1x."""
    groups = _groups(records)
    scales = sorted({s for (f, v, s) in groups if f == fraction and (v == variant or (s == 1 and v == "SE"))})
    xs, means, stds = [], [], []
    for scale in scales:
        runs = groups.get((fraction, variant, scale)) or (groups.get((fraction, "SE", 1)) if scale == 1 else None)
        values = [r[key] for r in runs or () if r.get(key) is not None]
        if values:
            xs.append(scale)
            means.append(float(np.mean(values)))
            stds.append(float(np.std(values)))
    return np.array(xs), np.array(means), np.array(stds)


def markdown(
    records,
    pending: List[str],
    recipe,
    scales,
    seeds,
    fractions,
    info: Dict[str, str],
    data_notes: Sequence[str] = (),
    commands: Optional[Dict[str, int]] = None,
) -> str:
    """The study's tables: test AUC (mean ± std over seeds, with n), parameters, examples/s, IA; pending cells.

    `data_notes`: what the cells trained on (metrics.json's `data`, and the planted model's AUC
    for the built-in synthetic sample), one line each. `commands`: the commands that trained
    the cells, with how many each.
    """
    groups = _groups(records)
    variants = [v for v in VARIANT_ORDER if any(r["variant"] == v for r in records)] or ["SE", "ME"]
    lines = [
        f"# Scaling study: {Path(str(recipe)).stem}",
        "",
        "Written by `python -m mezoo.scaling`; do not edit by hand. Scale Nx: SE has one table of width N*d, "
        "ME has N sets of width d (the same embedding parameters), ME-SI is ME with one interaction module shared "
        "by all sets. At 1x ME and ME-SI are SE. Test AUC of the best validation epoch, mean ± std over seeds "
        "(number of finished seeds in brackets); differences below about 3e-4 are noise on the paper's data.",
        "",
    ]
    if data_notes:
        lines += ["Data: " + "; ".join(data_notes) + ".", ""]
    for fraction in fractions:
        share = "all" if fraction == 1.0 else f"the first {fraction:g}"
        title = "" if len(fractions) == 1 and fraction == 1.0 else f" (training on {share} of the training split)"
        lines += [
            f"## Test AUC{title}",
            "",
            "| variant | " + " | ".join(f"{s}x" for s in scales) + " |",
            "|---|" + "---|" * len(scales),
        ]
        for variant in variants:
            cells = []
            for scale in scales:
                runs = groups.get((fraction, variant, scale), [])
                cells.append(
                    "(= SE)" if scale == 1 and variant != "SE" else mean_std_text([r["test_auc"] for r in runs])
                )
            lines.append(f"| {variant} | " + " | ".join(cells) + " |")
        lines += [
            "",
            f"## Cost and abundance{title}",
            "",
            "| variant | scale | sets x width | parameters | examples/s (median epoch) | epochs | "
            "per-field IA of the whole table: mean [min, max] | normalised IA (mean) | effective rank (mean) |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for variant in variants:
            for scale in scales:
                runs = groups.get((fraction, variant, scale), [])
                if not runs:
                    continue

                def mean(key):
                    values = [r[key] for r in runs if r.get(key) is not None]
                    return float(np.mean(values)) if values else float("nan")

                lines.append(
                    f"| {variant} | {scale}x | {runs[0]['num_sets']} x {runs[0]['embedding_dim']} | "
                    f"{runs[0]['params']:,} | {mean('examples_per_sec'):,.0f} | {mean('epochs'):.1f} | "
                    f"{mean('ia_mean'):.2f} [{mean('ia_min'):.2f}, {mean('ia_max'):.2f}] | "
                    f"{mean('ia_normalised_mean'):.3f} | {mean('erank_mean'):.2f} |"
                )
        lines.append("")
    lines += ["![test AUC against scale](auc_vs_scale.png)", "", "![IA against scale](ia_vs_scale.png)", ""]
    if pending:
        lines += [f"## Cells not finished ({len(pending)})", "", ", ".join(f"`{k}`" for k in pending), ""]
    else:
        lines += ["All cells finished.", ""]
    lines += [
        "## Provenance",
        "",
        prov.provenance_markdown(info),
        f"Scales {', '.join(str(s) for s in scales)}; {seeds} seed(s); training-data fractions "
        f"{', '.join(f'{f:g}' for f in fractions)}. Every cell's run directory is `cells/<cell>/` in the "
        "study directory (recipe.yaml, run.json, metrics.json, abundance.csv, model.keras); a study committed "
        "under docs/results keeps only its tables and figures.",
        "",
    ]
    if commands:
        lines += (
            ["Cells trained by:", ""]
            + [f"- `{c}` ({n} cell{'s' if n > 1 else ''})" for c, n in commands.items()]
            + [""]
        )
    return "\n".join(lines)


def _plot(records, path, recipe, keys, ylabels, title) -> Path:
    plt = pyplot()
    fractions = sorted({r["fraction"] for r in records}) or [1.0]
    styles = ["-", "--", ":", "-."]
    fig, axes = plt.subplots(1, len(keys), figsize=(6.5 * len(keys), 4.5), squeeze=False)
    for ax, key, ylabel in zip(axes[0], keys, ylabels):
        for fi, fraction in enumerate(fractions):
            for variant in VARIANT_ORDER:
                xs, means, stds = _series(records, variant, fraction, key)
                if not len(xs) or (variant != "SE" and list(xs) == [1]):
                    continue
                data = "" if fractions == [1.0] else f", {'all' if fraction == 1.0 else fraction} of the training data"
                ax.errorbar(
                    xs,
                    means,
                    yerr=stds,
                    color=COLORS[variant],
                    linestyle=styles[fi % len(styles)],
                    marker="o",
                    capsize=3,
                    label=f"{variant}{data}",
                )
        all_scales = sorted({r["scale"] for r in records})
        if all_scales:
            ax.set_xscale("log")
            ax.set_xticks(all_scales, [f"{s}x" for s in all_scales])
            ax.minorticks_off()
        ax.set_xlabel("scale N (SE: one table of width N*d; ME: N sets of width d)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{title}\n{Path(str(recipe)).stem}, mean ± std over seeds", fontsize=11)
    fig.tight_layout()
    partial = Path(path).with_name(f".{Path(path).name}.{os.getpid()}.{threading.get_ident()}.png")
    fig.savefig(partial, dpi=110)
    plt.close(fig)
    os.replace(partial, path)  # atomic: processes sharing a study rewrite the same figure
    return Path(path)


def plot_auc(records, path, recipe) -> Path:
    """Test AUC against scale, one line per variant (and training-data fraction)."""
    return _plot(
        records,
        path,
        recipe,
        ["test_auc"],
        ["test AUC (best validation epoch)"],
        "Test AUC against embedding scale (claims 4 and 5)",
    )


def plot_ia(records, path, recipe) -> Path:
    """Mean per-field IA and normalised IA of the whole table against scale."""
    return _plot(
        records,
        path,
        recipe,
        ["ia_mean", "ia_normalised_mean"],
        ["mean over fields: IA of the whole table", "mean over fields: IA / min(D, K)"],
        "Information abundance against embedding scale (claim 3)",
    )
