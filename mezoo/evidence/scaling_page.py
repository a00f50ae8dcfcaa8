"""A scaling study's page, `scaling.md`, and the two figures it shows, `auc_vs_scale.png` and `ia_vs_scale.png`."""

from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from mezoo.atomic import atomic_open
from mezoo.evidence import provenance as prov
from mezoo.evidence.figures import pyplot
from mezoo.evidence.noise import mean_sd
from mezoo.evidence.variants import Variant

VARIANT_ORDER = tuple(Variant)
COLORS = {Variant.SE: "tab:red", Variant.ME: "tab:blue", Variant.ME_SI: "tab:green", Variant.ENS: "tab:purple"}


def _groups(records) -> Dict:
    """`{(fraction, variant, scale): [records over seeds]}`."""
    groups: Dict = {}
    for record in records:
        groups.setdefault((record["fraction"], record["variant"], record["scale"]), []).append(record)
    return groups


def _series(records, variant: str, fraction: float, key: str):
    """Scales and per-scale mean and std of `key` for one variant. SE's scale-1 cell stands for every variant at 1x."""
    groups = _groups(records)
    scales = sorted({s for (f, v, s) in groups if f == fraction and (v == variant or (s == 1 and v == Variant.SE))})
    xs, means, stds, counts = [], [], [], []
    for scale in scales:
        runs = groups.get((fraction, variant, scale)) or (groups.get((fraction, Variant.SE, 1)) if scale == 1 else None)
        values = [r[key] for r in runs or () if r.get(key) is not None]
        if values:
            xs.append(scale)
            means.append(float(np.mean(values)))
            stds.append(float(np.std(values, ddof=1)) if len(values) > 1 else 0.0)
            counts.append(len(values))
    return np.array(xs), np.array(means), np.array(stds), np.array(counts)


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
    added_later: Optional[str] = None,
    waiting: Optional[Dict[str, str]] = None,
) -> str:
    """The study's tables: test AUC (mean ± std over seeds, with n), parameters, examples/s, IA; pending cells.

    `data_notes`: what the cells trained on (metrics.json's `data`, and the planted model's AUC
    for the built-in synthetic sample), one line each. `commands`: the commands that trained
    the cells, with how many each. `added_later`: the cells first asked for by a plan declared
    after the study's first (`scaling_plan.added_later_note`), None when there are none. `waiting`:
    the ENS cells not assembled yet, with why.
    """
    groups = _groups(records)
    variants = [v for v in VARIANT_ORDER if any(r["variant"] == v for r in records)] or [Variant.SE, Variant.ME]
    lines = [
        f"# Scaling study: {Path(str(recipe)).stem}",
        "",
        "Written by `python -m mezoo.scaling`; do not edit by hand. Scale Nx: SE has one table of width N*d, "
        "ME has N sets of width d (the same embedding parameters), ME-SI is ME with one interaction module shared "
        "by all sets, ENS (where the study has ensembles) averages the probabilities of N SE 1x runs (its members: "
        "SE 1x seeds 3 on). At 1x ME and ME-SI are SE. Test AUC of the best validation epoch, mean ± sd over seeds "
        "(sample sd; the number of finished seeds in brackets). Abundance leaves out rows training never looked "
        "up. Intervals of the differences are on the claims page (`python -m mezoo.report`).",
        "",
    ]
    if data_notes:
        lines += ["Data: " + "; ".join(data_notes) + ".", ""]
    for fraction in fractions:
        share = "all" if fraction == 1.0 else f"the first {fraction:g}"
        title = "" if len(fractions) == 1 and fraction == 1.0 else f" (training on {share} of the training split)"
        lines += _auc_table(groups, variants, scales, fraction, title)
        lines += _cost_table(groups, variants, scales, fraction, title)
        lines.append("")
    lines += ["![test AUC against scale](auc_vs_scale.png)", "", "![IA against scale](ia_vs_scale.png)", ""]
    if pending:
        lines += [f"## Cells not finished ({len(pending)})", "", ", ".join(f"`{k}`" for k in pending), ""]
        if waiting:
            lines += ["ENS cells waiting:", ""] + [f"- `{key}`: {why}" for key, why in waiting.items()] + [""]
    else:
        lines += ["All cells finished.", ""]
    if added_later:
        lines += [added_later[0].upper() + added_later[1:], ""]
    return "\n".join(lines + _provenance_lines(info, scales, seeds, fractions, commands))


def _auc_table(groups: Dict, variants: Sequence[str], scales, fraction: float, title: str) -> List[str]:
    """Test AUC, one row per variant and one column per scale (ME and ME-SI at 1x are SE)."""
    lines = [
        f"## Test AUC{title}",
        "",
        "| variant | " + " | ".join(f"{s}x" for s in scales) + " |",
        "|---|" + "---|" * len(scales),
    ]
    for variant in variants:
        cells = []
        for scale in scales:
            runs = groups.get((fraction, variant, scale), [])
            cells.append("(= SE)" if scale == 1 and variant != Variant.SE else mean_sd([r["test_auc"] for r in runs]))
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    return lines


def _cost_table(groups: Dict, variants: Sequence[str], scales, fraction: float, title: str) -> List[str]:
    """Per variant and scale: shape, parameters, speed, epochs and the abundance of the whole table."""
    lines = [
        "",
        f"## Cost and abundance{title}",
        "",
        "| variant | scale | sets x width | parameters | examples/s (median epoch) | epochs | "
        "per-field IA of the whole table: mean [min, max] | IA / random IA (mean) | "
        "normalised IA (mean; moves with the aspect ratio) | effective rank (mean) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for variant in variants:
        for scale in scales:
            runs = groups.get((fraction, variant, scale), [])
            if not runs:
                continue

            def mean(key):
                values = [r[key] for r in runs if r.get(key) is not None]
                return float(np.mean(values)) if values else float("nan")

            speed = mean("examples_per_sec")  # none for ENS: its members are SE 1x cells, timed there
            lines.append(
                f"| {variant} | {scale}x | {runs[0]['num_sets']} x {runs[0]['embedding_dim']} | "
                f"{runs[0]['params']:,} | {'-' if np.isnan(speed) else f'{speed:,.0f}'} | {mean('epochs'):.1f} | "
                f"{mean('ia_mean'):.2f} [{mean('ia_min'):.2f}, {mean('ia_max'):.2f}] | "
                f"{mean('ia_vs_random_mean'):.3f} | {mean('ia_normalised_mean'):.3f} | {mean('erank_mean'):.2f} |"
            )
    return lines


def _provenance_lines(info: Dict[str, str], scales, seeds, fractions, commands: Optional[Dict[str, int]]) -> List[str]:
    lines = [
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
    return lines


def _plot(records, path, recipe, keys, ylabels, title, data_label: str = "") -> Path:
    plt = pyplot()
    fractions = sorted({r["fraction"] for r in records}) or [1.0]
    styles = ["-", "--", ":", "-."]
    fig, axes = plt.subplots(1, len(keys), figsize=(6.5 * len(keys), 5.2), squeeze=False)
    single_seed = False
    for ax, key, ylabel in zip(axes[0], keys, ylabels):
        for fi, fraction in enumerate(fractions):
            for variant in VARIANT_ORDER:
                xs, means, stds, counts = _series(records, variant, fraction, key)
                if not len(xs) or (variant != Variant.SE and list(xs) == [1]):
                    continue
                data = "" if fractions == [1.0] else f", {'all' if fraction == 1.0 else fraction} of the training data"
                color, style = COLORS[variant], styles[fi % len(styles)]
                ax.plot(xs, means, color=color, linestyle=style, label=f"{variant}{data}")
                several = counts > 1
                ax.errorbar(
                    xs[several], means[several], yerr=stds[several], color=color, ls="none", marker="o", capsize=3
                )
                if (~several).any():  # one seed: a hollow marker, no error bar, labelled
                    single_seed = True
                    ax.plot(xs[~several], means[~several], linestyle="none", marker="o", mfc="white", color=color)
                    for x, y in zip(xs[~several], means[~several]):
                        ax.annotate("n = 1", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
        all_scales = sorted({r["scale"] for r in records})
        if all_scales:
            ax.set_xscale("log")
            ax.set_xticks(all_scales, [f"{s}x" for s in all_scales])
            ax.minorticks_off()
        ax.set_xlabel("scale N (SE: one table of width N*d; ME: N sets of width d)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    if single_seed:
        handles.append(plt.Line2D([], [], linestyle="none", marker="o", mfc="white", color="gray"))
        labels.append("one seed (n = 1)")
    # below the axes, two columns per panel: a legend never covers data, and the saved
    # figure grows to hold it (bbox_inches="tight") rather than cutting long labels off.
    columns = max(1, min(len(labels), 2 * len(keys)))
    rows = -(-len(labels) // columns)
    if labels:
        fig.legend(handles, labels, loc="lower center", ncol=columns, fontsize=8, frameon=False)
    where = f"{Path(str(recipe)).stem}" + (f" on {data_label}" if data_label else "")
    fig.suptitle(f"{title}\n{where}; mean ± sd over seeds (ddof = 1)", fontsize=11)
    fig.tight_layout(rect=(0, min(0.35, 0.035 * rows + 0.02), 1, 1))
    with atomic_open(path, "wb") as handle:  # processes sharing a study rewrite the same figure
        fig.savefig(handle, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return Path(path)


def plot_auc(records, path, recipe, data_label: str = "") -> Path:
    """Test AUC against scale, one line per variant (and training-data fraction)."""
    return _plot(
        records,
        path,
        recipe,
        ["test_auc"],
        ["test AUC (best validation epoch)"],
        "Test AUC against embedding scale (claims 4 and 5)",
        data_label,
    )


def plot_ia(records, path, recipe, data_label: str = "") -> Path:
    """Mean per-field IA / same-shape random IA, and IA, of the whole table against scale."""
    return _plot(
        records,
        path,
        recipe,
        ["ia_vs_random_mean", "ia_mean"],
        ["mean over fields: IA / IA of a random table of its shape", "mean over fields: IA of the whole table"],
        "Information abundance against embedding scale (claims 1 and 3)",
        data_label,
    )
