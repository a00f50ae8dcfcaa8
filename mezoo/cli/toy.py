"""python -m mezoo.toy: the interaction-collapse toy (docs/method.md §5 claim 2), one command.

    python -m mezoo.toy [--dim 50] [--seeds 3] [--steps 5000] [--out toy_results]

Trains only E1 of a 3-field FM (D1 = D2 = 100, D3 = 3 and D3 = 100, E2/E3 frozen, N(0, 1)
tables, random labels, full-batch SGD with learning rate 1), prints IA(E1) as it trains, and
writes `toy.csv` (IA, normalised IA and effective rank of E1 every `--record_every` steps),
`toy.png` (IA(E1) against step for both D3, mean and min-max band over seeds) and `README.md`
(the final figures, whether the ordering held on every seed, and the command, date, commit and
machine). The logic is `mezoo.evidence.toy`.
"""

import math
import sys
import types
from pathlib import Path
from typing import Any, List, Optional, Sequence

from mezoo.cli import UserError, run_command

DEFAULT_DIM = 50


def define_flags(values: Any) -> None:
    from absl import flags

    flags.DEFINE_integer(
        "dim",
        DEFAULT_DIM,
        f"embedding width K (the paper does not give it; default {DEFAULT_DIM}, docs/method.md)",
        lower_bound=1,
        flag_values=values,
    )
    flags.DEFINE_integer("seeds", 3, "number of seeds (0 .. seeds-1)", lower_bound=1, flag_values=values)
    flags.DEFINE_integer("steps", 5000, "full-batch SGD steps (the paper: 5000)", lower_bound=1, flag_values=values)
    flags.DEFINE_list("d3", ["3", "100"], "comma-separated values of D3 (the paper: 3,100)", flag_values=values)
    flags.DEFINE_float(
        "learning_rate", 1.0, "SGD learning rate, a finite number > 0 (the paper: 1)", flag_values=values
    )
    flags.DEFINE_integer("record_every", 50, "measure IA(E1) every this many steps", lower_bound=1, flag_values=values)
    flags.DEFINE_integer("print_every", 1000, "print IA(E1) every this many steps", lower_bound=1, flag_values=values)
    flags.DEFINE_string("out", "toy_results", "directory for toy.csv, toy.png and README.md", flag_values=values)


def settings(values: Any) -> types.SimpleNamespace:
    """The flags checked: D3 values as integers >= 1, a finite learning rate > 0."""
    try:
        d3 = [int(v) for v in values.d3 if v.strip()]
    except ValueError:
        raise UserError(f"--d3 must be comma-separated integers, got {','.join(values.d3)!r}") from None
    if not d3 or min(d3) < 1:
        raise UserError(f"every --d3 value must be >= 1, got {d3}")
    if not math.isfinite(values.learning_rate) or values.learning_rate <= 0:
        raise UserError(f"--learning_rate must be a finite number > 0, got {values.learning_rate}")
    names = ("dim", "seeds", "steps", "learning_rate", "record_every", "print_every", "out")
    return types.SimpleNamespace(d3_values=d3, **{name: getattr(values, name) for name in names})


def run(values: Any, args: List[str], argv: Optional[Sequence[str]] = None) -> None:
    from mezoo.evidence import provenance, toy, toy_report

    options = settings(values)
    out = Path(options.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a directory")
    out.mkdir(parents=True, exist_ok=True)

    def progress(entry):
        if entry["step"] % options.print_every == 0 or entry["step"] == options.steps:
            print(
                f"K={entry['dim']} D3={entry['d3']:<3} seed {entry['seed']} step {entry['step']:>5}: "
                f"IA(E1) {entry['ia']:6.2f}  normalised {entry['ia_normalised']:.3f}  erank {entry['erank']:6.2f}  "
                f"loss {entry['loss']:.4f}",
                flush=True,
            )

    results = toy.run_study(
        options.dim,
        range(options.seeds),
        options.d3_values,
        steps=options.steps,
        record_every=options.record_every,
        learning_rate=options.learning_rate,
        progress=progress,
    )
    info = provenance.provenance("mezoo.toy", list(sys.argv[1:] if argv is None else argv))
    provenance.write_provenance(out, info)
    toy.write_csv(results, out / "toy.csv")
    toy.plot(results, out / "toy.png")
    (out / "README.md").write_text(toy_report.markdown(results, options, info))
    print(toy_report.verdict(results))
    print(f"wrote {out / 'toy.csv'}, {out / 'toy.png'}, {out / 'README.md'}")


def main(argv: Optional[Sequence[str]] = None) -> None:
    run_command(__doc__, define_flags, lambda values, args: run(values, args, argv), argv)


if __name__ == "__main__":
    main()
