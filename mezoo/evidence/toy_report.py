"""The Markdown summary `python -m mezoo.toy` writes beside its CSV and figure."""

from typing import Dict, List, Sequence

import numpy as np

from mezoo.evidence import provenance as prov
from mezoo.evidence import rules
from mezoo.evidence.convergence import CONVERGED_BELOW, late_loss_change, state
from mezoo.evidence.noise import mean_sd
from mezoo.evidence.toy import D1, D2, ToyResult, final_ia, ordering_holds


def _last(result: ToyResult, key: str) -> float:
    return float(result.records[-1][key])


def _change(runs: Sequence[ToyResult]) -> str:
    moved = max(late_loss_change([e["step"] for e in r.records], [e["loss"] for e in r.records]) for r in runs)
    return f"{100 * moved:.1f}% ({state(moved)})"


def _kept_lines(info: Dict) -> List[str]:
    """A line per set of runs `--resume` kept from an earlier command, naming that command."""
    lines = []
    for entry in info.get("kept_runs", []):
        runs = ", ".join(f"D3 = {d3} seed {seed}" for d3, seed in entry["runs"])
        lines.append(
            f"- Kept from an earlier command (`--resume`): {runs}, by `{entry['command']}` on {entry['date']}, "
            f"commit `{entry['git_commit']}`, {entry['machine']}\n"
        )
    return lines


def verdict(results: Sequence[ToyResult]) -> str:
    """Claim 2's verdict on these runs by `mezoo.evidence.rules` (this test alone; the claims page reads it
    within its family of tests, corrected by Holm's method), then how many seeds ended in the paper's order
    (a description: the rule reads the interval over seeds, not the count)."""
    d3_values = sorted({r.d3 for r in results})
    if len(d3_values) < 2:
        return f"(only D3 = {', '.join(str(d) for d in d3_values)} was run: no ordering to check)"
    low, high = d3_values[0], d3_values[-1]
    table = final_ia(results)
    interval = rules.toy_difference({d3: list(table[d3].values()) for d3 in (low, high)})
    judged = rules.single(interval)
    holds = ordering_holds(results, low, high)
    held = sum(holds.values())
    if held == len(holds):
        seeds = f"on every seed ({held}/{len(holds)})"
    else:
        failed = ", ".join(str(s) for s, ok in holds.items() if not ok)
        seeds = f"on {held} of {len(holds)} seeds (not on seed(s) {failed})"
    return (
        f"Claim 2's rule (`mezoo.evidence.rules`) on this test alone (the claims page corrects it together with "
        f"its other tests, by Holm's method): IA(E1) against D3 = {high} minus against "
        f"D3 = {low}, over seeds, {interval.detail(2)}: {judged.lower()}. IA(E1) ended lower with D3 = {low} "
        f"than with D3 = {high} {seeds}."
    )


def markdown(results: Sequence[ToyResult], args, info: Dict[str, str]) -> str:
    """The summary: set-up, final IA(E1) per D3 (and per seed), the verdict, the figure, provenance."""
    dim = results[0].dim
    # `--resume` keeps earlier runs outside this command's --d3 and --seeds: the page shows every run.
    d3_values = sorted({r.d3 for r in results})
    lines = [
        "# Interaction-collapse toy (docs/method.md §5, claim 2)",
        "",
        "Written by `python -m mezoo.toy`; do not edit by hand.",
        "",
        f"Three fields, D1 = {D1}, D2 = {D2}, D3 in {{{', '.join(str(v) for v in d3_values)}}}; "
        f"every (x1, x2) pair once ({D1 * D2:,} rows), x3 uniform, random labels. "
        f"Tables {D1} x K, {D2} x K, D3 x K with K = {dim}, drawn N(0, 1); E2 and E3 frozen, only E1 trained "
        f"by full-batch SGD (learning rate {args.learning_rate:g}, {args.steps:,} steps) on the binary "
        "cross-entropy of the FM logit sum_{i<j} <e_i, e_j> (`mezoo.layers.FMInteraction`). "
        f"IA(E1) is `mezoo.abundance` on E1 ({D1} x {dim}; the most it can be is {min(D1, dim)}).",
        "",
        f"**{verdict(results)}**",
        "",
        "| D3 | seeds | IA(E1) at step 0 | IA(E1) at the end (mean ± sd, ddof = 1) "
        "| normalised IA | effective rank "
        "| final loss | loss change over the last tenth of the steps (largest seed) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for d3 in d3_values:
        runs = [r for r in results if r.d3 == d3]
        start = np.array([r.records[0]["ia"] for r in runs])
        end = np.array([_last(r, "ia") for r in runs])
        lines.append(
            f"| {d3} | {len(runs)} | {start.mean():.2f} | {mean_sd(list(end), 2)} | "
            f"{np.mean([_last(r, 'ia_normalised') for r in runs]):.3f} | "
            f"{np.mean([_last(r, 'erank') for r in runs]):.2f} | "
            f"{np.mean([r.final_loss for r in runs]):.4f} | "
            f"{_change(runs)} |"
        )
    table = final_ia(results)
    lines += [
        "",
        "Final IA(E1) per seed:",
        "",
        "| seed | " + " | ".join(f"D3 = {d}" for d in d3_values) + " |",
        "|---|" + "---|" * len(d3_values),
    ]
    for seed in sorted({r.seed for r in results}):
        cells = (f"{table[d][seed]:.2f}" if seed in table[d] else "-" for d in d3_values)
        lines.append(f"| {seed} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "The final loss is a mean over the last recorded stretch of steps; a run has converged when its loss "
        f"changes by less than {100 * CONVERGED_BELOW:g}% over the last tenth of its steps (the loss panel of the "
        "figure shows the curve).",
        "",
        "![IA(E1) and the training loss against step for each D3: mean over seeds with a min-max band](toy.png)",
        "",
        f"`toy.csv` holds IA, normalised IA and effective rank of E1 every {args.record_every} steps for every run.",
        "",
        "## Provenance",
        "",
        prov.provenance_markdown(info) + "".join(_kept_lines(info)),
    ]
    return "\n".join(lines)
