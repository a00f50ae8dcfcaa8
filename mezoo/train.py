"""python -m mezoo.train --recipe NAME: train a zoo model, resumably, tracking abundance.

    python -m mezoo.train --recipe dcnv2_me_criteo [--set section.key=value ...] [--data DIR]
                          [--run_dir DIR] [--strategy auto|one_device|mirrored|multi_worker]

The same from Python: `mezoo.train.run("dcnv2_me_criteo", overrides=[...], data=..., run_dir=...)`.
Each epoch: the training steps (a progress bar with examples/s; a backup every
`train.backup_every_steps` steps), exact AUC and log loss over the whole validation split,
information abundance, the plateau and early-stopping rules on validation AUC. At the end the
best epoch's weights are restored and the test split is scored once. Running the same
command again resumes from the backup, or reports the finished run.
"""

import contextlib
import dataclasses
import hashlib
import inspect
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterable, Optional

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

if __name__ == "__main__":
    from mezoo import startup

    if startup.help_only():  # answered before Keras and TensorFlow load
        from absl import app

        from mezoo.train_flags import define_flags

        define_flags()
        app.run(lambda argv: None)

import keras  # noqa: E402
import numpy as np  # noqa: E402

import mezoo  # noqa: E402
from mezoo import metrics, models  # noqa: E402
from mezoo import recipe as recipes  # noqa: E402
from mezoo.abundance import MetricCallback  # noqa: E402
from mezoo.training import compile_model  # noqa: E402
from mezoo.training.callbacks import StepBackup, ThroughputProgbar  # noqa: E402
from mezoo.training.run_state import Backup, RunState, atomic_write_text, optimizer_step  # noqa: E402

from mezoo.train_flags import STRATEGIES, define_flags  # noqa: E402,F401
# recipe keys a resume may change: they steer the rest of the run, not what was trained so far
RESUME_MAY_CHANGE = ("train.epochs",)


def model_keys(name: str):
    """Constructor arguments of a zoo model, the keys a recipe's `model` section may set."""
    from mezoo.models.ctr_model import CTRModel

    params = inspect.signature(models.get(name).__init__).parameters
    return [p for p in params if p not in ("self", "fields", "kwargs")] + list(CTRModel.COMMON_KEYS) + ["name"]


def default_run_dir(recipe, overrides: Iterable[str], data) -> Path:
    """`runs/<recipe>` plus a digest of the overrides and data, so a rerun finds its run."""
    stem = Path(str(recipe)).stem
    extra = sorted(overrides or ()) + ([f"data={Path(data).resolve()}"] if data else [])
    if not extra:
        return Path("runs") / stem
    return Path("runs") / f"{stem}-{hashlib.sha1(json.dumps(extra).encode()).hexdigest()[:8]}"


def predict_split(model, source, split: str, batch_size: int):
    """Labels and predicted probabilities over the whole split."""
    import tensorflow as tf

    # One compiled forward pass, in cross-replica context (`predict_on_batch` under
    # MirroredStrategy returned twice the batch's rows).
    forward = getattr(model, "_mezoo_forward", None)
    if forward is None:
        forward = model._mezoo_forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    labels, scores = [], []
    for x, y in source.dataset(split, batch_size, training=False):
        scores.append(np.asarray(forward(x)).reshape(-1))
        labels.append(np.asarray(y).reshape(-1))
    return np.concatenate(labels), np.concatenate(scores)


@contextlib.contextmanager
def naming_bad_shards(source, split: str):
    """Re-raises a read error of `split` as one that names the damaged shard, where the source can."""
    try:
        yield
    except Exception as error:
        explain = getattr(source, "read_error", None)
        named = explain(split, error) if explain else error
        if named is error:
            raise
        raise named from error


def evaluate_split(model, source, split: str, batch_size: int):
    with naming_bad_shards(source, split):
        labels, scores = predict_split(model, source, split, batch_size)
    return {"auc": metrics.auc(labels, scores), "logloss": metrics.log_loss(labels, scores), "rows": int(len(labels))}


def run_metadata(recipe, overrides, data, seed) -> dict:
    def version(module):
        try:
            return __import__(module).__version__
        except Exception:  # noqa: BLE001 - a missing optional package is just "absent"
            return None

    package_dir = _package_directory()
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=package_dir, capture_output=True, text=True, timeout=10
        ).stdout.strip() or None
    except OSError:
        commit = None
    import tensorflow as tf

    recipe_file = Path(str(recipe)).expanduser()
    return {
        "command": [sys.executable, *sys.argv],
        "cwd": os.getcwd(),
        # absolute, so that `mezoo.evaluate --run_dir` finds them from any directory
        "recipe": str(recipe_file.resolve()) if recipe_file.is_file() else str(recipe),
        "overrides": list(overrides or ()),
        "data": str(Path(data).expanduser().resolve()) if data else None,
        "seed": seed,
        "git_commit": commit,
        "versions": {m: version(m) for m in ("mezoo", "keras", "tensorflow", "numpy")} | {"python": platform.python_version()},
        "devices": [d.name for d in tf.config.list_logical_devices()],
        "keras_backend": keras.backend.backend(),
    }


def _package_directory() -> Path:
    """The folder of the mezoo package this module belongs to.

    `mezoo.__file__` is None when a folder named `mezoo` without `__init__.py` (a clone of the
    repository, say) in the working directory shadows the package: `import mezoo` then finds
    a namespace package. This module's own file is always set.
    """
    if getattr(mezoo, "__file__", None) is None:
        where = ", ".join(getattr(mezoo, "__path__", []) or ["?"])
        print(f"warning: `import mezoo` found a folder without __init__.py ({where}), not the mezoo package; "
              f"a folder named mezoo in the working directory shadows it: run from another directory. "
              f"Using {Path(__file__).resolve().parent}", file=sys.stderr, flush=True)
    return Path(__file__).resolve().parent


def check_same_recipe(run_dir: Path, resolved: dict) -> None:
    """Refuses to resume (or report) a run directory started with another resolved recipe.

    Called before anything in the run directory changes: a resume with other settings would
    train with the stored ones (or fail deep in Keras) while recipe.yaml said otherwise. Only
    `RESUME_MAY_CHANGE` (the number of epochs: more, to train on) may differ.
    """
    stored_path = Path(run_dir) / "recipe.yaml"
    if not stored_path.exists():
        return
    import yaml

    try:
        stored = yaml.safe_load(stored_path.read_text()) or {}
    except yaml.YAMLError as error:
        raise recipes.RecipeChangedError(f"{stored_path} is not valid YAML ({error}); delete {run_dir} to start over")
    changed = [d for d in recipes.differences(stored, resolved) if d.split(":")[0] not in RESUME_MAY_CHANGE]
    if changed:
        raise recipes.RecipeChangedError(
            f"{run_dir} holds a run started with another recipe; nothing was changed there. Differences "
            f"(stored -> now): {'; '.join(changed)}. Pass another --run_dir to start a new run, or the "
            f"stored settings to resume this one (or delete {run_dir} to start over)")


def check_same_data(run_dir: Path, source) -> None:
    """Refuses to resume a run directory on data with another feature spec (other fields or vocabularies)."""
    stored_path = Path(run_dir) / "feature_spec.json"
    if not stored_path.exists() or not hasattr(source, "spec_json"):
        return
    stored, now = json.loads(stored_path.read_text()), json.loads(source.spec_json())
    if stored != now:
        keys = sorted(k for k in set(stored) | set(now) if stored.get(k) != now.get(k))
        raise recipes.RecipeChangedError(
            f"{run_dir} holds a run on data with another feature spec (differs in: {', '.join(keys)}); "
            f"nothing was changed there. Pass another --run_dir to start a new run on {getattr(source, 'description', 'this data')}")


def run(
    recipe,
    overrides: Optional[Iterable[str]] = None,
    data=None,
    run_dir=None,
    strategy: str = "auto",
    source=None,
    verbose: int = 1,
) -> dict:
    """Trains (or resumes) the run and returns its metrics.json content."""
    policy = keras.mixed_precision.global_policy()
    try:
        return _run(recipe, overrides, data, run_dir, strategy, source, verbose)
    finally:  # a recipe's mixed precision is the run's, not the caller's from then on
        keras.mixed_precision.set_global_policy(policy)


def _run(recipe, overrides, data, run_dir, strategy, source, verbose) -> dict:
    overrides = list(overrides or ())
    name = recipes.load(recipe, overrides)["model"]["name"]
    resolved = recipes.load(recipe, overrides, model_keys=model_keys(name))
    run_dir = Path(run_dir) if run_dir else default_run_dir(recipe, overrides, data)
    check_same_recipe(run_dir, resolved)
    run_dir.mkdir(parents=True, exist_ok=True)
    metrics_path = run_dir / "metrics.json"
    if metrics_path.exists() and json.loads(metrics_path.read_text()).get("finished"):
        if verbose:
            print(f"{run_dir} holds a finished run; delete it (or pass another --run_dir) to train again")
        return json.loads(metrics_path.read_text())

    data_cfg, model_cfg, train_cfg = resolved["data"], dict(resolved["model"]), resolved["train"]
    if source is None:
        from mezoo.training.data_sources import open_source

        source = open_source(data_cfg, data, verbose=verbose)
    check_same_data(run_dir, source)
    seed = int(train_cfg["seed"])
    keras.utils.set_random_seed(seed)
    if train_cfg.get("mixed_precision"):
        keras.mixed_precision.set_global_policy(train_cfg["mixed_precision"])
    from mezoo.training.strategies import make_strategy, synchronize_batch_norm

    dist = make_strategy(strategy)
    replicas = dist.num_replicas_in_sync
    model_name = model_cfg.pop("name")
    with dist.scope():
        model = models.get(model_name)(source, **model_cfg)
        synchronize_batch_norm(model, replicas > 1)
        # XLA can't place a step across several logical CPU devices (its "variable on a
        # different device" limitation); GPUs keep it.
        cpu_replicas = replicas > 1 and all("CPU" in d.upper() for d in dist.extended.worker_devices)
        jit = train_cfg.get("jit_compile", "auto")
        compile_model(model, train_cfg["mode"], learning_rate=float(train_cfg["learning_rate"]),
                      jit_compile=False if cpu_replicas else jit)

    # Multi-worker: only the chief writes the run directory; the other workers write theirs to
    # a scratch directory (TF's convention), deleted at the end, and resume from the chief's.
    from mezoo.training.strategies import is_multi_worker, worker_role

    chief, task_type, task_id = worker_role(dist)
    restore_dir = run_dir
    if not chief:
        if verbose:
            print(f"{task_type} {task_id} of a {replicas}-replica cluster: the chief writes {run_dir}", flush=True)
        run_dir, verbose = Path(tempfile.mkdtemp(prefix=f"mezoo-{task_type}{task_id}-")), 0
        metrics_path = run_dir / "metrics.json"

    atomic_write_text(run_dir / "recipe.yaml", recipes.dump(resolved))
    if hasattr(source, "save_spec"):
        source.save_spec(run_dir)  # with its vocabularies: what mezoo.export needs
    atomic_write_text(run_dir / "run.json", json.dumps(run_metadata(recipe, overrides, data, seed), indent=1))

    backup = Backup(run_dir, restore_from=restore_dir)
    state = backup.load(model) or RunState(learning_rate=float(train_cfg["learning_rate"]))
    if state.step and verbose:
        print(f"resuming {run_dir} at step {state.step} (epoch {state.epoch + 1}, step {state.step_in_epoch} in it)")
    loop = _custom_loop(model, dist, train_cfg, state, chief)
    model.optimizer.learning_rate = state.learning_rate
    batch_size = int(data_cfg["batch_size"])
    steps_per_epoch = int(train_cfg.get("steps_per_epoch") or source.rows("train") // batch_size)
    if steps_per_epoch < 1:
        raise ValueError(f"the training split has {source.rows('train')} rows, fewer than one batch of {batch_size}")
    abundance = MetricCallback(csv_path=str(run_dir / "abundance.csv"), log_dir=str(run_dir / "tensorboard" / "abundance"))
    abundance.set_model(model)
    _truncate_abundance_csv(run_dir / "abundance.csv", state.epoch)
    tensorboard = keras.callbacks.TensorBoard(log_dir=str(run_dir / "tensorboard"), update_freq="epoch")
    epochs, patience = int(train_cfg["epochs"]), int(train_cfg["early_stopping_patience"])
    if getattr(source, "builtin", False) and data_cfg.get("synthetic_epochs"):
        epochs = min(epochs, int(data_cfg["synthetic_epochs"]))  # the built-in sample: a quick run
    lr_factor, lr_patience = train_cfg.get("reduce_lr_factor"), train_cfg.get("reduce_lr_patience")
    min_lr = train_cfg.get("min_learning_rate")

    seconds = {"train": 0.0, "evaluate": 0.0}  # this process's, a resumed run's earlier ones not included
    while state.epoch < epochs and not state.finished:
        epoch, skip = state.epoch, state.step_in_epoch
        carried_loss = state.epoch_loss_sum if skip else 0.0  # the mid-epoch backups below overwrite it
        progress = ThroughputProgbar(steps_per_epoch - skip, batch_size, epoch, epochs, verbose)
        train_data = _training_data(dist, source, batch_size, seed + epoch, skip, repeat=loop is not None)
        callbacks = [progress, StepBackup(backup, state, train_cfg.get("backup_every_steps"), skip), tensorboard]
        start = time.perf_counter()
        with naming_bad_shards(source, "train"):
            if loop is None:
                history = model.fit(
                    train_data,
                    steps_per_epoch=steps_per_epoch - skip,
                    initial_epoch=epoch,
                    epochs=epoch + 1,
                    shuffle=False,  # the source shuffles, per epoch, with a seed a resumed run can replay
                    verbose=0,
                    callbacks=callbacks,
                )
                loss = history.history["loss"][-1]
            else:  # multi-worker (or train.loop=custom): the same step, callbacks and logs without fit
                loss = loop.train_epoch(train_data, steps_per_epoch - skip, epoch, callbacks)["loss"]
        train_seconds = time.perf_counter() - start
        seconds["train"] += train_seconds
        start = time.perf_counter()
        if skip and carried_loss is not None:  # a resumed epoch: its loss over all its steps, those before included
            loss = (carried_loss + float(loss) * (steps_per_epoch - skip)) / steps_per_epoch
        val = evaluate_split(model, source, "valid", batch_size)
        if is_multi_worker(dist):
            val = _agree_on_validation(loop, val, f"{task_type} {task_id}")
        summary = abundance.compute(epoch + 1)  # epochs count from 1 wherever a user reads them
        seconds["evaluate"] += time.perf_counter() - start
        record = {
            "epoch": epoch + 1,
            "loss": float(loss),
            "val_auc": val["auc"],
            "val_logloss": val["logloss"],
            "examples_per_sec": (steps_per_epoch - skip) * batch_size / train_seconds,
            "learning_rate": float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)),
            "abundance": summary,
        }
        state.epochs.append(record)
        if verbose:
            print(
                f"epoch {epoch + 1}: val_auc {val['auc']:.5f} val_logloss {val['logloss']:.5f} "
                f"{record['examples_per_sec']:,.0f} examples/s ia_mean_concat {summary.get('ia_mean_concat', float('nan')):.2f}",
                flush=True,
            )
        if state.best_val_auc is None or val["auc"] > state.best_val_auc:
            state.best_val_auc, state.best_epoch, state.stop_wait, state.plateau_wait = val["auc"], epoch, 0, 0
            backup.save_best(model)
        else:
            state.stop_wait += 1
            state.plateau_wait += 1
            if lr_factor and lr_patience and state.plateau_wait >= int(lr_patience):
                previous = state.learning_rate
                state.learning_rate = max(previous * float(lr_factor), float(min_lr or 0.0))
                model.optimizer.learning_rate = state.learning_rate
                state.plateau_wait = 0
                if verbose:
                    change = "now" if state.learning_rate != previous else "stays at its floor,"
                    print(f"validation AUC plateaued: learning rate {change} {state.learning_rate:g}")
            if state.stop_wait >= patience:
                state.finished = True
                if verbose:
                    print(f"early stopping: no better validation AUC for {patience} epochs; best epoch {state.best_epoch + 1}")
        state.epoch, state.step_in_epoch, state.epoch_loss_sum = epoch + 1, 0, 0.0
        backup.save(model, state)
        _write_metrics(metrics_path, state, source, finished=False)

    trained_steps = optimizer_step(model)  # the best weights restored below carry their own, earlier, step
    if not chief:  # the chief restores the best weights, scores the test split and saves the model
        shutil.rmtree(run_dir, ignore_errors=True)
        return _write_metrics(None, state, source, finished=True, steps=trained_steps)

    model.load_weights(backup.best_path)
    start = time.perf_counter()
    test = evaluate_split(model, source, "test", batch_size)
    seconds["evaluate"] += time.perf_counter() - start
    synchronize_batch_norm(model, False)  # saved models load on any backend and device count
    # Exact mode's optimiser applies the tables' L2; the saved model carries the plain
    # formulation (L2 through the loss), right for any optimiser it is compiled with later.
    model.sparse_embedding_l2 = train_cfg["mode"] == "fast"
    model.save(run_dir / "model.keras")
    state.finished = True
    backup.save(model, state)
    result = _write_metrics(metrics_path, state, source, finished=True, test=test, steps=trained_steps, seconds=seconds)
    if verbose:
        print(f"test_auc {test['auc']:.5f} test_logloss {test['logloss']:.5f} (best epoch {state.best_epoch + 1}); run in {run_dir}")
        print(f"{seconds['train'] + seconds['evaluate']:.1f} s of training and evaluation ({seconds['train']:.1f} s training, "
              f"{seconds['evaluate']:.1f} s validation, abundance and test)", flush=True)
    _export(run_dir, train_cfg, verbose)
    return result


def _export(run_dir: Path, train_cfg: dict, verbose: int) -> None:
    """`train.export`: the finished run as a TF Serving SavedModel in `<run_dir>/export/<version>`."""
    if not train_cfg.get("export"):
        return
    spec = run_dir / "feature_spec.json"
    if not spec.exists() or any("vocabulary" not in f for f in json.loads(spec.read_text())["fields"]):
        if verbose:  # in-memory data, or a spec of ids only: raw values can't be mapped
            print("not exported: the run's data has no vocabularies to map raw values with")
        return
    from mezoo.serving.export import export_run

    export_run(run_dir, verbose=bool(verbose))


def _training_data(dist, source, batch_size: int, seed: int, skip: int, repeat: bool = False):
    """One epoch of training batches; with several replicas, each gets its share of a global batch.

    With an `input_context`, sources take the global batch size and divide it (as
    `mezoo.data.make_dataset` does). `repeat` (the custom loop): the batches never run out. A
    multi-worker run's workers read disjoint file shards, in general of unequal sizes, and
    every worker must take every step, so a worker whose shards run short reads them again;
    the first pass is the same batches as without it.
    """

    def batches(context=None):
        data = source.dataset("train", batch_size, training=True, seed=seed, skip_batches=0 if repeat else skip,
                              input_context=context)
        return data.repeat().skip(skip) if repeat else data

    if dist.num_replicas_in_sync == 1:
        return batches()
    return dist.distribute_datasets_from_function(batches)


def _custom_loop(model, dist, train_cfg, state, chief):
    """The custom training loop where the run needs one (multi-worker, or `train.loop: custom`), else None."""
    from mezoo.training.custom_loop import DistributedTrainLoop, uses_custom_loop
    from mezoo.training.strategies import is_multi_worker

    if not uses_custom_loop(train_cfg.get("loop", "auto"), dist):
        return None
    multi_worker = is_multi_worker(dist)
    # XLA stays off across workers (not checked there); elsewhere the loop compiles as fit would.
    loop = DistributedTrainLoop(model, dist, jit_compile=bool(model.jit_compile) and not multi_worker, chief=chief)
    if multi_worker:
        _, same = loop.agree([state.step, state.epoch, state.step_in_epoch])
        if not same:
            raise RuntimeError(
                "the workers restored different backups: every worker must read the chief's run directory "
                "(the same --run_dir on shared storage)"
            )
    return loop


def _agree_on_validation(loop, val: dict, worker: str) -> dict:
    """The chief's validation figures on every worker, so that all take the same decisions."""
    (auc, logloss), same = loop.agree([val["auc"], val["logloss"]])
    if not same:
        print(f"warning: {worker}: validation differs across workers (here AUC {val['auc']!r}, chief {auc!r}); "
              "following the chief", file=sys.stderr, flush=True)
    return dict(val, auc=auc, logloss=logloss)


def _truncate_abundance_csv(path: Path, epoch: int) -> None:
    """Drops rows of epochs a resumed run will measure again (`epoch` epochs are done; rows count from 1)."""
    if not path.exists():
        return
    lines = path.read_text().splitlines(keepends=True)
    kept = lines[:1] + [line for line in lines[1:] if int(line.split(",", 1)[0]) <= epoch]
    if len(kept) != len(lines):
        atomic_write_text(path, "".join(kept))


def _write_metrics(path: Optional[Path], state: RunState, source, finished: bool, test=None, steps=None,
                   seconds=None) -> dict:
    result = {
        "finished": finished,
        "synthetic": bool(getattr(source, "synthetic", False)),
        "data": getattr(source, "description", None),
        "planted_auc": getattr(source, "planted_auc", None),
        "best_val_auc": state.best_val_auc,
        "best_epoch": None if state.best_epoch is None else state.best_epoch + 1,  # 1-based, as on the console
        "steps": state.step if steps is None else steps,  # optimizer steps trained
        "test_auc": test["auc"] if test else None,
        "test_logloss": test["logloss"] if test else None,
        "epochs": state.epochs,
    }
    if seconds is not None:
        result["seconds"] = {key: round(value, 1) for key, value in seconds.items()}
    if path is not None:
        atomic_write_text(path, json.dumps(result, indent=1))
    return result


def main(argv):
    from absl import flags

    from mezoo.cli import EXIT_BAD_INPUT, run_cli

    FLAGS = flags.FLAGS
    if len(argv) > 1:
        print(f"error: unexpected arguments: {argv[1:]}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    run_cli(lambda: run(FLAGS.recipe, FLAGS.set, data=FLAGS.data, run_dir=FLAGS.run_dir, strategy=FLAGS.strategy),
            verbose=FLAGS.verbose)


if __name__ == "__main__":
    from absl import app

    define_flags()
    app.run(main)
