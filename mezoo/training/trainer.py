"""Trainer: one resumable training run of a zoo model, in set-up, epoch, validation and finish steps.

`python -m mezoo.train` (`mezoo.cli.train`) is the command line over it; from Python,
`train(...)` (or `Trainer(...).run()`). The steps:

- `finished_result`: refuse a run directory of another recipe, report a finished one;
- `set_up`: open the data, refuse a run directory of other data, build and compile the model
  under the distribution strategy, write `recipe.yaml`, `feature_spec.json` and `run.json`, and
  restore the backup if there is one; it returns the `ActiveRun` the other steps take;
- `run_epoch`: `train_epoch` (the training steps, a backup every `train.backup_every_steps`),
  then `validate` (exact AUC and log loss over the whole validation split, information
  abundance), then the stopping rules (`mezoo.training.stopping`), a backup and metrics.json;
- `finish`: restore the best epoch's weights, score the test split once (its predictions kept
  in `test_predictions.npz`), save `model.keras` (and the export, `train.export`).

Example:
    >>> from mezoo.training.trainer import train
    >>> metrics = train("dnn_se_frappe", ["train.epochs=1"], run_dir="/tmp/run")  # doctest: +SKIP
"""

import contextlib
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable, Optional, Tuple

import keras

from mezoo import models
from mezoo import recipe as recipes
from mezoo.abundance import AbundanceTracker
from mezoo.atomic import atomic_write
from mezoo.directory_lock import directory_lock, remove_stale
from mezoo.disk_full import ensure_room, full_disk_reported
from mezoo.errors import BadInput
from mezoo.run_layout import LOCK, RunDirectory
from mezoo.training.active_run import ActiveRun
from mezoo.training.callbacks import StepBackup, ThroughputProgbar
from mezoo.training.custom_loop import agree_on_validation, loop_for_run
from mezoo.training.data_source import DataSource
from mezoo.training.evaluation import evaluate_split, naming_bad_shards, predict_split, split_figures
from mezoo.training.final_export import export_finished_run
from mezoo.training.placement import epoch_batches
from mezoo.training.predictions import save_predictions
from mezoo.training.row_counts import training_row_counts
from mezoo.training.run_directory import (
    check_same_data,
    check_same_recipe,
    continue_abundance_csv,
    default_run_dir,
    run_metadata,
    truncate_abundance_csv,
    write_metrics,
)
from mezoo.training.run_state import Backup, RunState, disk_full_message, optimizer_step, room_for_weights
from mezoo.training.stopping import StoppingRules
from mezoo.training.table_memory import available_memory, check_table_memory
from mezoo.training.training_mode import compile_model
from mezoo.training.warm_start import WarmStart

LOCK_NAME = LOCK
# what a writer that died leaves: the backup's and best weights' temporaries, `mezoo.atomic`'s partial files
SCRATCH_PATTERNS = (".weights-*.weights.h5", ".best-*.weights.h5", ".*.partial")


class TooFewRowsError(BadInput, ValueError):
    """A training split smaller than one batch."""


class RunDirectoryError(BadInput, ValueError):
    """A run directory path that can't be one (an existing file, say)."""


def train(
    recipe,
    overrides: Optional[Iterable[str]] = None,
    data=None,
    run_dir=None,
    strategy: str = "auto",
    source: Optional[DataSource] = None,
    verbose: int = 1,
) -> dict:
    """Trains (or resumes) a run and returns its metrics.json content.

    Args:
        recipe: an installed recipe name (`mezoo.recipe.names()`) or a path to a recipe YAML file.
        overrides: `section.key=value` strings, e.g. `["train.epochs=3"]`.
        data: converted data directory; default: the recipe's, else the built-in synthetic sample.
        run_dir: the run directory; default `runs/<recipe>[-<digest of overrides and data>]`.
        strategy: `auto`, `one_device`, `mirrored` or `multi_worker` (`mezoo.training.strategies`).
        source: a data source to train on instead of `data` (tests pass in-memory ones).
        verbose: 0: silent; 1: progress and results.

    Example:
        >>> metrics = train("dcnv2_me_criteo", ["train.epochs=1"], run_dir="/tmp/run")  # doctest: +SKIP
    """
    return Trainer(
        recipe, overrides, data=data, run_dir=run_dir, strategy=strategy, source=source, verbose=verbose
    ).run()


class Trainer:
    """Trains (or resumes, or reports) one run.

    Args:
        recipe: an installed recipe name or a path to a recipe YAML file.
        overrides: `section.key=value` strings applied over the recipe.
        data: converted data directory; default: the recipe's (else the built-in sample).
        run_dir: the run directory; default `runs/<recipe>[-<digest of overrides and data>]`.
        strategy: TensorFlow's `auto`, `one_device`, `mirrored` or `multi_worker`
            (`mezoo.training.strategies`); on JAX `auto`, and `train.distribution` places the run.
        source: a data source to use instead of opening `data` (tests pass in-memory ones).
        verbose: 0 prints nothing; 1 progress, per-epoch lines and the result.
    """

    def __init__(
        self,
        recipe,
        overrides: Optional[Iterable[str]] = None,
        data=None,
        run_dir=None,
        strategy: str = "auto",
        source: Optional[DataSource] = None,
        verbose: int = 1,
    ):
        self.recipe, self.overrides, self.data = recipe, list(overrides or ()), data
        self.resolved = recipes.load(recipe, self.overrides)  # once; model keys checked against the family
        self.train_cfg, self.data_cfg = self.resolved.train, self.resolved.data
        self.run_dir = Path(run_dir) if run_dir else default_run_dir(recipe, self.overrides, data)
        self.strategy_name, self.source, self.verbose = strategy, source, verbose
        self.seconds = {"train": 0.0, "evaluate": 0.0}  # this process's, a resumed run's earlier ones not included
        self.held = contextlib.ExitStack()  # the run directory's lock, from `set_up` to the end of `run`
        self.warm_start: Optional[WarmStart] = None  # the parent run (`train.warm_start`), found by `set_up`
        self.generation = 1  # the tables' generation: the data's, else one after the parent's

    def run(self) -> dict:
        """All the steps; returns metrics.json's content (that of the finished run, if it already was)."""
        policy, distribution = keras.mixed_precision.global_policy(), keras.distribution.distribution()
        full = disk_full_message(self.run_dir)
        try:
            finished = self.finished_result()
            if finished is not None:
                return finished
            with full_disk_reported(full):
                run = self.set_up()
                while run.state.epoch < run.epochs and not run.state.finished:
                    self.run_epoch(run)
                return self.finish(run)
        finally:  # a recipe's mixed precision and distribution are the run's, not the caller's from then on
            self.held.close()
            keras.mixed_precision.set_global_policy(policy)
            keras.distribution.set_distribution(distribution)

    # ---- set-up

    def finished_result(self) -> Optional[dict]:
        """metrics.json's content if the run directory holds this recipe's finished run, else None.

        Refuses a run directory of another recipe before anything in it changes.
        """
        if self.run_dir.exists() and not self.run_dir.is_dir():
            raise RunDirectoryError(f"--run_dir {self.run_dir} is a file, not a run directory")
        check_same_recipe(self.run_dir, self.resolved)
        metrics_path = RunDirectory(self.run_dir).metrics
        if metrics_path.exists() and json.loads(metrics_path.read_text()).get("finished"):
            if self.verbose:
                print(f"{self.run_dir} holds a finished run; delete it (or pass another --run_dir) to train again")
            return json.loads(metrics_path.read_text())
        return None

    def set_up(self) -> ActiveRun:
        """Everything before the first epoch: data, model, run files, the backup restored.

        Nothing is written into the run directory before the data, the placement and the model
        are known to work (a refused setting leaves no run directory behind)."""
        if self.source is None:
            from mezoo.training.data_sources import open_source

            self.source = open_source(self.data_cfg, self.data, verbose=self.verbose)
        source = self.source
        check_same_data(self.run_dir, source)
        keras.utils.set_random_seed(self.train_cfg.seed)
        if self.train_cfg.mixed_precision:
            try:
                keras.mixed_precision.set_global_policy(self.train_cfg.mixed_precision)
            except ValueError as error:
                raise recipes.RecipeError(
                    f"train.mixed_precision={self.train_cfg.mixed_precision}: Keras refuses the policy ({error}); "
                    "use mixed_float16, mixed_bfloat16 or null"
                ) from None
        strategy, model = self._build_model(source)
        self._warm_start(source, strategy, model)
        chief, worker, run_dir = self._choose_run_directory(strategy)
        if chief:
            self._hold_run_directory()
        self._write_run_files(run_dir, source, strategy)
        return self._restore(run_dir, source, strategy, model, chief, worker)

    def _build_model(self, source: DataSource) -> Tuple[Any, Any]:
        """The placement, and the model built on the source's fields and compiled in its scope."""
        from mezoo.training import placement
        from mezoo.training.strategies import synchronize_batch_norm

        train_cfg, model_cfg = self.train_cfg, self.resolved.model
        strategy = placement.make_placement(
            self.strategy_name, train_cfg.distribution, train_cfg.mesh, self.data_cfg.batch_size
        )
        if placement.is_keras_distribution(strategy) and train_cfg.loop == "custom":
            raise placement.PlacementError(
                "train.loop=custom is the tf.distribute loop (TensorFlow); on JAX Keras' fit trains"
            )
        placement.set_for_run(strategy)  # until `run` returns
        check_table_memory(
            source.model_fields(),
            int(model_cfg.num_embedding_sets),
            int(model_cfg.embedding_dim),
            train_cfg.mode,
            available_memory() if placement.tables_in_host_memory() else None,
        )
        with strategy.scope():
            try:
                model = models.get(model_cfg.name)(
                    source.model_fields(), numeric_fields=source.numeric_names(), **model_cfg.arguments()
                )
            except ValueError as error:  # the family refuses a value of the recipe's model section
                if isinstance(error, BadInput):
                    raise
                raise recipes.RecipeError(
                    f"recipe {self.recipe}: model {model_cfg.name} refuses its settings: {error}"
                ) from None
            synchronize_batch_norm(model, placement.synchronized_batch_norm(strategy))
            compile_model(
                model,
                train_cfg.mode,
                learning_rate=float(train_cfg.learning_rate),
                jit_compile=placement.jit_compile(strategy, train_cfg.jit_compile),
            )
        return strategy, model

    def _warm_start(self, source: DataSource, strategy, model) -> None:
        """`train.warm_start`: the parent's weights into the new model, id for id (a resumed run's
        backup replaces them); the tables' generation."""
        data_generation = (source.spec.to_dict().get("generation") if source.spec is not None else None) or None
        if not self.train_cfg.warm_start:
            self.generation = int(data_generation or 1)
            return
        self.warm_start = WarmStart.open(self.train_cfg.warm_start, model, source)
        self.generation = int(data_generation or self.warm_start.parent_generation() + 1)
        with strategy.scope():
            self.warm_start.apply(model)
        if self.verbose:
            print(f"warm start from {self.warm_start.run_dir} (generation {self.generation})", flush=True)

    def _choose_run_directory(self, strategy) -> Tuple[bool, str, Path]:
        """(chief, the worker's role, where it writes). Multi-worker: only the chief writes the run
        directory; the other workers write theirs to a scratch directory (TF's convention),
        deleted at the end, and resume from the chief's."""
        from mezoo.training.placement import role

        chief, task_type, task_id = role(strategy)
        worker = f"{task_type} {task_id}"
        if chief:
            return chief, worker, self.run_dir
        if self.verbose:
            print(
                f"{worker} of a {strategy.num_replicas_in_sync}-replica cluster: the chief writes {self.run_dir}",
                flush=True,
            )
        self.verbose = 0
        return chief, worker, Path(tempfile.mkdtemp(prefix=f"mezoo-{task_type}{task_id}-"))

    def _hold_run_directory(self) -> None:
        """The run directory's lock until `run` returns (a second training on it stops before writing
        anything), then the scratch files of writers that died (a kill or a full disk mid-write)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.held.enter_context(
            directory_lock(
                self.run_dir,
                "a training",
                "wait for it to finish (running the command again then resumes or reports the run), "
                "or pass another --run_dir",
                name=LOCK_NAME,
            )
        )
        for folder in (self.run_dir, RunDirectory(self.run_dir).backup):
            if folder.is_dir():
                remove_stale(folder, SCRATCH_PATTERNS)

    def _write_run_files(self, run_dir: Path, source: DataSource, strategy) -> None:
        from mezoo.training.placement import record

        layout = RunDirectory(run_dir)
        atomic_write(layout.recipe, recipes.dump(self.resolved))
        source.save_spec(run_dir)  # with its vocabularies: what mezoo.export needs
        metadata = run_metadata(self.recipe, self.overrides, self.data, self.train_cfg.seed)
        metadata["strategy"] = record(self.strategy_name, self.train_cfg.distribution, strategy)
        metadata["generation"] = self.generation
        if self.warm_start is not None:
            metadata["warm_start"] = self.warm_start.record(self.generation)
            if not layout.abundance.exists():  # the parent's rows first: one file shows the tables across generations
                continue_abundance_csv(RunDirectory(self.warm_start.run_dir).abundance, layout.abundance)
        atomic_write(layout.run_json, json.dumps(metadata, indent=1))

    def _restore(self, run_dir: Path, source: DataSource, strategy, model, chief: bool, worker: str) -> ActiveRun:
        """The backup (if any), the training loop, the epoch's size, abundance, TensorBoard and the stopping rules."""
        train_cfg, data_cfg = self.train_cfg, self.data_cfg
        backup = Backup(run_dir, restore_from=self.run_dir)
        state = backup.load(model) or RunState(learning_rate=float(train_cfg.learning_rate))
        if state.step and self.verbose:
            print(
                f"resuming {run_dir} at step {state.step} (epoch {state.epoch + 1}, step {state.step_in_epoch} in it)"
            )
        loop = loop_for_run(model, strategy, train_cfg, state, chief)
        model.optimizer.learning_rate = state.learning_rate
        batch_size = data_cfg.batch_size
        steps_per_epoch = int(train_cfg.steps_per_epoch or source.rows("train") // batch_size)
        if steps_per_epoch < 1:
            raise TooFewRowsError(
                f"the training split has {source.rows('train')} rows, fewer than one batch of {batch_size}"
            )
        # Abundance leaves out the rows training never looks up (counted once per run).
        with naming_bad_shards(source, "train"):
            row_counts = training_row_counts(run_dir, source)
        abundance = AbundanceTracker(
            model.multi_embedding,  # the model's embedding tables (FwFM's linear vectors aside)
            csv_path=RunDirectory(run_dir).abundance,
            log_dir=RunDirectory(run_dir).tensorboard / "abundance",
            row_counts=row_counts,
            generation=self.generation,
        )
        truncate_abundance_csv(RunDirectory(run_dir).abundance, state.epoch, self.generation)
        epochs = train_cfg.epochs
        if source.builtin and data_cfg.synthetic_epochs:
            epochs = min(epochs, data_cfg.synthetic_epochs)  # the built-in sample: a quick run
        rules = StoppingRules(
            patience=train_cfg.early_stopping_patience,
            reduce_lr_factor=train_cfg.reduce_lr_factor,
            reduce_lr_patience=train_cfg.reduce_lr_patience,
            min_learning_rate=train_cfg.min_learning_rate,
        )
        tensorboard = keras.callbacks.TensorBoard(log_dir=str(RunDirectory(run_dir).tensorboard), update_freq="epoch")
        return ActiveRun(
            run_dir, source, model, strategy, loop, chief, worker, backup, state, abundance, tensorboard, rules,
            steps_per_epoch, batch_size, epochs,
        )  # fmt: skip

    # ---- one epoch

    def run_epoch(self, run: ActiveRun) -> None:
        """Trains one epoch (the rest of it, on a resume), validates, applies the rules, backs up."""
        state = run.state
        epoch, skip = state.epoch, state.step_in_epoch
        loss, train_seconds = self.train_epoch(run)
        val, summary = self.validate(run)
        record = {
            "epoch": epoch + 1,
            "loss": float(loss),
            "val_auc": val["auc"],
            "val_logloss": val["logloss"],
            "examples_per_sec": (run.steps_per_epoch - skip) * run.batch_size / train_seconds,
            "learning_rate": float(keras.ops.convert_to_numpy(run.model.optimizer.learning_rate)),
            "abundance": summary,
        }
        state.epochs.append(record)
        if self.verbose:
            print(
                f"epoch {epoch + 1}: val_auc {val['auc']:.5f} val_logloss {val['logloss']:.5f} "
                f"{record['examples_per_sec']:,.0f} examples/s "
                f"ia_mean_concat {summary.get('ia_mean_concat', float('nan')):.2f}",
                flush=True,
            )
        self.apply_stopping_rules(run, epoch, val["auc"])
        state.epoch, state.step_in_epoch, state.epoch_loss_sum = epoch + 1, 0, 0.0
        run.backup.save(run.model, state)
        write_metrics(run.metrics_path, state, run.source, finished=False)

    def train_epoch(self, run: ActiveRun) -> Tuple[float, float]:
        """The epoch's training steps; returns (its mean training loss, the seconds they took)."""
        state, steps_per_epoch = run.state, run.steps_per_epoch
        epoch, skip = state.epoch, state.step_in_epoch
        carried_loss = state.epoch_loss_sum if skip else 0.0  # the mid-epoch backups below overwrite it
        progress = ThroughputProgbar(steps_per_epoch - skip, run.batch_size, epoch, run.epochs, self.verbose)
        seed = self.train_cfg.seed + epoch
        train_data = epoch_batches(run.strategy, run.source, run.batch_size, seed, skip, repeat=run.loop is not None)
        backups = StepBackup(run.backup, state, self.train_cfg.backup_every_steps, skip)
        callbacks = [progress, backups, run.tensorboard]
        start = time.perf_counter()
        with naming_bad_shards(run.source, "train"):
            if run.loop is None:
                history = run.model.fit(
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
                loss = run.loop.train_epoch(train_data, steps_per_epoch - skip, epoch, callbacks)["loss"]
        train_seconds = time.perf_counter() - start
        self.seconds["train"] += train_seconds
        if skip and carried_loss is not None:  # a resumed epoch: its loss over all its steps, those before included
            loss = (carried_loss + float(loss) * (steps_per_epoch - skip)) / steps_per_epoch
        return float(loss), train_seconds

    def validate(self, run: ActiveRun) -> Tuple[dict, dict]:
        """The validation split's figures (the chief's, on every worker) and the epoch's abundance summary."""
        from mezoo.training.placement import multi_worker

        start = time.perf_counter()
        val = evaluate_split(run.model, run.source, "valid", run.batch_size)
        if multi_worker(run.strategy):
            val = agree_on_validation(run.loop, val, run.worker)
        summary = run.abundance.measure(run.state.epoch + 1)  # epochs trained, counting this one
        self.seconds["evaluate"] += time.perf_counter() - start
        return val, summary

    def apply_stopping_rules(self, run: ActiveRun, epoch: int, val_auc: float) -> None:
        """Keeps the best weights, cuts the learning rate on a plateau, stops early (`StoppingRules`)."""
        state = run.state
        decision = run.rules.after_epoch(state, epoch, val_auc)
        if decision.improved:
            run.backup.save_best(run.model)
        if decision.learning_rate_cut:
            run.model.optimizer.learning_rate = state.learning_rate
            if self.verbose:
                change = "now" if state.learning_rate != decision.previous_learning_rate else "stays at its floor,"
                print(f"validation AUC plateaued: learning rate {change} {state.learning_rate:g}")
        if decision.stop and self.verbose:
            print(
                f"early stopping: no better validation AUC for {run.rules.patience} epochs; "
                f"best epoch {_one_based(state.best_epoch)}"
            )

    # ---- finish

    def finish(self, run: ActiveRun) -> dict:
        """The best weights, the test split, model.keras, the final metrics.json and the export."""
        from mezoo.training.strategies import synchronize_batch_norm

        state, model = run.state, run.model
        run.abundance.close()
        trained_steps = optimizer_step(model)  # the best weights restored below carry their own, earlier, step
        if not run.chief:  # the chief restores the best weights, scores the test split and saves the model
            shutil.rmtree(run.run_dir, ignore_errors=True)
            return write_metrics(None, state, run.source, finished=True, steps=trained_steps)

        model.load_weights(run.backup.best_path)
        start = time.perf_counter()
        with naming_bad_shards(run.source, "test"):
            labels, scores = predict_split(model, run.source, "test", run.batch_size)
        test = split_figures(labels, scores)
        # kept so that differences between runs can be bootstrapped over the same test rows
        save_predictions(RunDirectory(run.run_dir).predictions, labels, scores)
        self.seconds["evaluate"] += time.perf_counter() - start
        synchronize_batch_norm(model, False)  # saved models load on any backend and device count
        # Exact mode's optimiser applies the tables' L2; the saved model carries the plain
        # formulation (L2 through the loss), right for any optimiser it is compiled with later.
        model.sparse_embedding_l2 = self.train_cfg.mode == "fast"
        ensure_room(run.run_dir, room_for_weights(model, run.backup.weights_path), disk_full_message(run.run_dir))
        model.save(RunDirectory(run.run_dir).model)
        state.finished = True
        run.backup.save(model, state)
        result = write_metrics(
            run.metrics_path, state, run.source, finished=True, test=test, steps=trained_steps, seconds=self.seconds
        )
        if self.verbose:
            seconds = self.seconds
            print(
                f"test_auc {test['auc']:.5f} test_logloss {test['logloss']:.5f} "
                f"(best epoch {_one_based(state.best_epoch)}); run in {run.run_dir}"
            )
            print(
                f"{seconds['train'] + seconds['evaluate']:.1f} s of training and evaluation "
                f"({seconds['train']:.1f} s training, {seconds['evaluate']:.1f} s validation, abundance and test)",
                flush=True,
            )
        export_finished_run(run.run_dir, self.train_cfg, self.verbose)
        return result


def _one_based(epoch: Optional[int]) -> Optional[int]:
    """An epoch as the console and metrics.json count them (from 1)."""
    return None if epoch is None else epoch + 1
