"""The toy's runs in one directory: what `python -m mezoo.toy` trains and writes, and `--resume`.

`run_toy_study` trains the runs a command asks for (each D3 value for each seed), in one process
or several (`jobs`), and writes `toy.csv`, `toy.png`, `README.md` (`mezoo.evidence.toy_report`)
and `provenance.json` into `out`.

With `resume`, every run already in `out/toy.csv` is kept (`kept_runs`): it must have been made
with the same width, steps, learning rate and record interval (`SAME_SETTINGS`, read from the
command `provenance.json` beside it records), and only the runs not there are trained. Runs
outside this command's seeds or D3 values stay too: `toy.csv` keeps the earlier rows as they
were, first, and the new runs follow. `toy.csv` and `provenance.json` are rewritten after each
run, so an interrupted command resumes where it stopped; `provenance.json` names the command,
date and commit of every kept run (`origins`).
"""

import dataclasses
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Set, Tuple

import keras

from mezoo.errors import UsageError
from mezoo.evidence import provenance, toy, toy_report

SAME_SETTINGS = ("dim", "steps", "learning_rate", "record_every")
ORIGIN_KEYS = ("command", "date", "git_commit", "machine")
RunKey = Tuple[int, int]  # (d3, seed)


@dataclasses.dataclass(frozen=True)
class ToySettings:
    """What one toy command asks for (`python -m mezoo.toy`'s flags, checked)."""

    d3_values: Sequence[int]
    dim: int
    seeds: int
    steps: int
    learning_rate: float
    record_every: int
    print_every: int
    out: str
    resume: bool = False
    jobs: int = 1


# The settings of an earlier command, from its command line as `provenance.json` records it.
SettingsOf = Callable[[str], ToySettings]


def kept_runs(
    out: Path, settings: ToySettings, settings_of: SettingsOf
) -> Tuple[Dict[RunKey, toy.ToyResult], List[Dict]]:
    """`--resume`: every run of `out/toy.csv` by `(d3, seed)`, in file order, and where each came from.

    Runs this command would not train (other seeds or D3 values) are kept as well: a resume never
    drops a finished run. Raises `UsageError` when the earlier command's settings differ from this
    one's, or when a run in the file does not end at the recorded width and steps.
    """
    csv_path, info_path = out / "toy.csv", out / provenance.PROVENANCE_FILE
    if not csv_path.exists():
        return {}, []
    if not info_path.exists():
        raise UsageError(f"--resume: {csv_path} has no {provenance.PROVENANCE_FILE} beside it to say how it was made")
    earlier = json.loads(info_path.read_text())
    before = settings_of(earlier["command"])
    for name in SAME_SETTINGS:
        if getattr(before, name) != getattr(settings, name):
            raise UsageError(
                f"--resume: {csv_path} was written with --{name} {getattr(before, name)}, not "
                f"{getattr(settings, name)}; use another --out, or the same settings"
            )
    try:
        runs = toy.read_csv(csv_path)
    except ValueError as error:
        raise UsageError(f"--resume: {error}") from None
    for run in runs:
        if run.dim != settings.dim or run.records[-1]["step"] != settings.steps:
            raise UsageError(
                f"--resume: {csv_path} holds D3 = {run.d3} seed {run.seed} with K = {run.dim} ending at step "
                f"{run.records[-1]['step']}, not the --dim {settings.dim} and --steps {settings.steps} its "
                f"{provenance.PROVENANCE_FILE} records: the file was changed; use another --out"
            )
    kept = {(r.d3, r.seed): r for r in runs}
    return kept, origins(earlier, set(kept))


def origins(earlier: Dict, kept: Set[RunKey]) -> List[Dict]:
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
    """A `jobs` worker: one thread for TensorFlow's ops, so that N workers share N cores."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)


def _train_one(settings: ToySettings, d3: int, seed: int) -> toy.ToyResult:
    return toy.run_toy(
        settings.dim,
        d3,
        seed,
        steps=settings.steps,
        learning_rate=settings.learning_rate,
        record_every=settings.record_every,
        progress=_printer(settings.print_every, settings.steps),
    )


def _train(settings: ToySettings, todo: Sequence[RunKey], finish: Callable[[RunKey, toy.ToyResult], None]) -> None:
    """Trains the runs `todo`, handing each to `finish` as it ends: `settings.jobs` processes at once."""
    if settings.jobs > 1 and len(todo) > 1:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(settings.jobs, len(todo)), mp_context=context, initializer=_one_thread) as pool:
            futures = {pool.submit(_train_one, settings, *key): key for key in todo}
            for future in as_completed(futures):
                finish(futures[future], future.result())
    else:
        for key in todo:
            finish(key, _train_one(settings, *key))


def run_toy_study(settings: ToySettings, argv: Sequence[str], settings_of: SettingsOf) -> List[toy.ToyResult]:
    """Trains the toy's runs into `settings.out` (keeping those of an earlier command with `resume`) and writes
    `toy.csv`, `toy.png`, `README.md` and `provenance.json`; prints the rule's verdict (`toy_report.verdict`);
    returns every run, kept ones first.

    Args:
        settings: the command's settings.
        argv: the command's arguments, for the provenance.
        settings_of: the settings of an earlier command line (`resume` compares them with these).
    """
    out = Path(settings.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a directory")
    out.mkdir(parents=True, exist_ok=True)
    kept, kept_from = kept_runs(out, settings, settings_of) if settings.resume else ({}, [])
    own = [out / name for name in ("toy.csv", "toy.png", "README.md", provenance.PROVENANCE_FILE)]
    info: Dict = dict(provenance.provenance("mezoo.toy", list(argv), results=out, writes=own))
    if kept_from:
        info["kept_runs"] = kept_from
    # Kept runs first, in their file order (the earlier rows stay as they were), then this command's
    # in the order of `toy.run_study`: seeds outer, D3 inner.
    wanted = [(d3, seed) for seed in range(settings.seeds) for d3 in settings.d3_values]
    order = list(kept) + [key for key in wanted if key not in kept]
    finished: Dict[RunKey, toy.ToyResult] = {}
    for key in kept:
        other = "" if key in wanted else "; not among this command's --seeds and --d3, kept all the same"
        print(
            f"K={settings.dim} D3={key[0]:<3} seed {key[1]}: kept from {out / 'toy.csv'} (--resume{other})", flush=True
        )
        finished[key] = kept[key]

    def finish(key: RunKey, result: toy.ToyResult) -> None:
        finished[key] = result
        # Written after every run: an interrupted command resumes from here with --resume.
        toy.write_csv([finished[k] for k in order if k in finished], out / "toy.csv")
        provenance.write_provenance(out, info)

    _train(settings, [key for key in order if key not in finished], finish)
    results = [finished[key] for key in order]
    provenance.write_provenance(out, info)
    toy.write_csv(results, out / "toy.csv")
    toy.plot(results, out / "toy.png")
    (out / "README.md").write_text(toy_report.markdown(results, settings, info))
    print(toy_report.verdict(results))
    print(f"wrote {out / 'toy.csv'}, {out / 'toy.png'}, {out / 'README.md'}")
    return results
