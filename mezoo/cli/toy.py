"""python -m mezoo.toy: the interaction-collapse toy (docs/method.md §5 claim 2), one command.

    python -m mezoo.toy [--dim 50] [--seeds 3] [--steps 5000] [--out toy_results]

Trains only E1 of a 3-field FM (D1 = D2 = 100, D3 = 3 and D3 = 100, E2/E3 frozen, N(0, 1)
tables, random labels, full-batch SGD with learning rate 1), prints IA(E1) as it trains, and
writes `toy.csv` (IA, normalised IA and effective rank of E1 every `--record_every` steps),
`toy.png` (IA(E1) against step for both D3, mean and min-max band over seeds) and `README.md`
(the final figures, whether the ordering held on every seed, and the command, date, commit and
machine). The logic is `mezoo.evidence.toy`.

`--jobs N` trains N runs at once, each in its own process with one thread.

`--resume` keeps every run already in `--out`'s `toy.csv` (made with the same width, steps,
learning rate and record interval, read from the `provenance.json` beside it; other settings are
refused) and trains only this command's runs that are not there. Runs outside this command's
`--seeds` or `--d3` stay too: `toy.csv` keeps the earlier rows as they were, first, and the new
runs follow. `toy.csv` and `provenance.json` are rewritten after each run, so an interrupted
command resumes where it stopped. `provenance.json` names the command, date and commit of every
kept run.
"""

import json
import math
import shlex
import sys
import types
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

from mezoo.command import run_command
from mezoo.errors import UsageError

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
    flags.DEFINE_integer(
        "jobs",
        1,
        "runs trained at once, each a process with one thread (the results are the same runs as with 1)",
        lower_bound=1,
        flag_values=values,
    )
    flags.DEFINE_bool(
        "resume",
        False,
        "keep the runs already in --out/toy.csv made with the same settings, train only the others",
        flag_values=values,
    )


def settings(values: Any) -> types.SimpleNamespace:
    """The flags checked: D3 values as integers >= 1, a finite learning rate > 0."""
    try:
        d3 = [int(v) for v in values.d3 if v.strip()]
    except ValueError:
        raise UsageError(f"--d3 must be comma-separated integers, got {','.join(values.d3)!r}") from None
    if not d3 or min(d3) < 1:
        raise UsageError(f"every --d3 value must be >= 1, got {d3}")
    if not math.isfinite(values.learning_rate) or values.learning_rate <= 0:
        raise UsageError(f"--learning_rate must be a finite number > 0, got {values.learning_rate}")
    names = ("dim", "seeds", "steps", "learning_rate", "record_every", "print_every", "out", "resume", "jobs")
    return types.SimpleNamespace(d3_values=d3, **{name: getattr(values, name) for name in names})


SAME_SETTINGS = ("dim", "steps", "learning_rate", "record_every")
ORIGIN_KEYS = ("command", "date", "git_commit", "machine")


def _settings_of(command: str) -> types.SimpleNamespace:
    """The settings of an earlier `python -m mezoo.toy ...` command line, defaults filled in."""
    from absl import flags

    words = shlex.split(command)
    if words[:3] != ["python", "-m", "mezoo.toy"]:
        raise UsageError(f"--resume: the earlier results were not written by python -m mezoo.toy: {command!r}")
    values = flags.FlagValues()
    define_flags(values)
    values(["mezoo.toy", *words[3:]])
    return settings(values)


def kept_runs(out: Path, options: types.SimpleNamespace) -> Tuple[Dict[Tuple[int, int], Any], List[Dict]]:
    """`--resume`: every run of `out/toy.csv` by `(d3, seed)`, in file order, and where each came from.

    Runs this command would not train (other seeds or D3 values) are kept as well: a resume never
    drops a finished run. Raises `UsageError` when the earlier command's settings differ from this
    one's, or when a run in the file does not end at the recorded width and steps.
    """
    from mezoo.evidence import provenance, toy

    csv_path, info_path = out / "toy.csv", out / provenance.PROVENANCE_FILE
    if not csv_path.exists():
        return {}, []
    if not info_path.exists():
        raise UsageError(f"--resume: {csv_path} has no {provenance.PROVENANCE_FILE} beside it to say how it was made")
    earlier = json.loads(info_path.read_text())
    before = _settings_of(earlier["command"])
    for name in SAME_SETTINGS:
        if getattr(before, name) != getattr(options, name):
            raise UsageError(
                f"--resume: {csv_path} was written with --{name} {getattr(before, name)}, not "
                f"{getattr(options, name)}; use another --out, or the same settings"
            )
    try:
        runs = toy.read_csv(csv_path)
    except ValueError as error:
        raise UsageError(f"--resume: {error}") from None
    for run in runs:
        if run.dim != options.dim or run.records[-1]["step"] != options.steps:
            raise UsageError(
                f"--resume: {csv_path} holds D3 = {run.d3} seed {run.seed} with K = {run.dim} ending at step "
                f"{run.records[-1]['step']}, not the --dim {options.dim} and --steps {options.steps} its "
                f"{provenance.PROVENANCE_FILE} records: the file was changed; use another --out"
            )
    kept = {(r.d3, r.seed): r for r in runs}
    return kept, origins(earlier, set(kept))


def origins(earlier: Dict, kept: Set[Tuple[int, int]]) -> List[Dict]:
    """Who made each kept run: the earlier file's own kept runs keep their origin, the rest are its command's."""
    entries, covered = [], set()
    for entry in earlier.get("kept_runs", []):
        runs = [tuple(r) for r in entry["runs"] if tuple(r) in kept]
        if runs:
            entries.append({**entry, "runs": [list(r) for r in runs]})
            covered.update(runs)
    rest = sorted(kept - covered)
    if rest:
        entries.append({"runs": [list(r) for r in rest], **{k: earlier.get(k, "unknown") for k in ORIGIN_KEYS}})
    return entries


def _printer(print_every: int, steps: int):
    def progress(entry):
        if entry["step"] % print_every == 0 or entry["step"] == steps:
            print(
                f"K={entry['dim']} D3={entry['d3']:<3} seed {entry['seed']} step {entry['step']:>5}: "
                f"IA(E1) {entry['ia']:6.2f}  normalised {entry['ia_normalised']:.3f}  erank {entry['erank']:6.2f}  "
                f"loss {entry['loss']:.4f}",
                flush=True,
            )

    return progress


def _one_thread() -> None:
    """A `--jobs` worker: one thread for TensorFlow's ops, so that N workers share N cores."""
    import keras

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)


def _train_one(options: types.SimpleNamespace, d3: int, seed: int):
    from mezoo.evidence import toy

    return toy.run_toy(
        options.dim,
        d3,
        seed,
        steps=options.steps,
        learning_rate=options.learning_rate,
        record_every=options.record_every,
        progress=_printer(options.print_every, options.steps),
    )


def run(values: Any, args: List[str], argv: Optional[Sequence[str]] = None) -> None:
    from mezoo.evidence import provenance, toy, toy_report

    options = settings(values)
    out = Path(options.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a directory")
    out.mkdir(parents=True, exist_ok=True)

    kept, kept_from = kept_runs(out, options) if options.resume else ({}, [])
    own = [out / name for name in ("toy.csv", "toy.png", "README.md", provenance.PROVENANCE_FILE)]
    info: Dict[str, Any] = dict(
        provenance.provenance("mezoo.toy", list(sys.argv[1:] if argv is None else argv), results=out, writes=own)
    )
    if kept_from:
        info["kept_runs"] = kept_from
    # Kept runs first, in their file order (the earlier rows stay as they were), then this command's
    # in the order of `toy.run_study`: seeds outer, D3 inner.
    wanted = [(d3, seed) for seed in range(options.seeds) for d3 in options.d3_values]
    order = list(kept) + [key for key in wanted if key not in kept]
    finished = {}
    for key in kept:
        other = "" if key in wanted else "; not among this command's --seeds and --d3, kept all the same"
        print(
            f"K={options.dim} D3={key[0]:<3} seed {key[1]}: kept from {out / 'toy.csv'} (--resume{other})", flush=True
        )
        finished[key] = kept[key]

    def finish(key, result) -> None:
        finished[key] = result
        # Written after every run: an interrupted command resumes from here with --resume.
        toy.write_csv([finished[k] for k in order if k in finished], out / "toy.csv")
        provenance.write_provenance(out, info)

    todo = [key for key in order if key not in finished]
    if options.jobs > 1 and len(todo) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(options.jobs, len(todo)), mp_context=context, initializer=_one_thread) as pool:
            futures = {pool.submit(_train_one, options, *key): key for key in todo}
            for future in as_completed(futures):
                finish(futures[future], future.result())
    else:
        for key in todo:
            finish(key, _train_one(options, *key))
    results = [finished[key] for key in order]
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
