"""Where a run's rows come from: converted TFRecords, or the built-in synthetic sample."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List, Optional

from mezoo.data.feature_spec import SPEC_NAME
from mezoo.errors import MissingInput
from mezoo.recipe_schema import DataConfig
from mezoo.run_layout import RunDirectory
from mezoo.training.data_source import DataSource

BUILTIN_VERSION = 2  # bump when the sample's generation or conversion changes
CONVERTERS = {"criteo": "tfrecord_tools.criteo", "avazu": "tfrecord_tools.avazu", "frappe": "tfrecord_tools.csv"}


class TFRecordSource(DataSource):
    """A converted directory (`feature_spec.json` + shards) served through `mezoo.data`."""

    def __init__(
        self, directory, synthetic: bool = False, planted_auc: Optional[float] = None, shuffle_buffer: int = 262144
    ):
        from mezoo.data.feature_spec import FeatureSpec

        self.directory = Path(directory)
        self.spec = FeatureSpec.load(str(self.directory / SPEC_NAME))
        self.spec.check_vocabulary_sizes()
        self.fields, self.numeric = self.spec.fields, self.spec.numeric
        self.synthetic, self.planted_auc, self.shuffle_buffer = synthetic, planted_auc, shuffle_buffer
        self.builtin = False  # the built-in sample (open_source sets it): its epochs are capped
        self.description = ("built-in synthetic sample at " if synthetic else "") + str(self.directory)

    def rows(self, split: str) -> int:
        return int(self.spec.rows(split))

    def read_error(self, split: str, error: Exception) -> Exception:
        """For a `tf.data` read error on `split`: an error naming the damaged shard (else `error`)."""
        from mezoo.data.shard_errors import READ_ERRORS, shard_read_error

        return shard_read_error(self.spec, split, error) if isinstance(error, READ_ERRORS) else error

    def spec_json(self) -> str:
        """The spec as a run directory stores it: its vocabularies in the run's own `vocab/`."""
        from mezoo.data.feature_spec import vocabulary_path

        spec = self.spec.to_dict()
        for field in spec["fields"]:
            if "vocabulary" in field:  # (a hand-made spec of ids only has none)
                field["vocabulary"] = vocabulary_path(field["name"])
        return json.dumps(spec, indent=1)

    def save_spec(self, run_dir: Path) -> None:
        """The spec and its vocabulary files into the run directory, so that the run stays
        exportable (`mezoo.export`) after the converted data moves or is reconverted."""
        from mezoo.atomic import atomic_write
        from mezoo.data.feature_spec import read_vocabulary, vocabulary_path, write_vocabulary

        run_dir = Path(run_dir)
        for field in self.spec.fields:
            if "vocabulary" in field:
                target = run_dir / vocabulary_path(field["name"])
                target.parent.mkdir(exist_ok=True)
                write_vocabulary(str(target), read_vocabulary(self.spec.resolve(field["vocabulary"])))
        atomic_write(RunDirectory(run_dir).spec, self.spec_json())

    def dataset(
        self,
        split: str,
        batch_size: int,
        training: bool = False,
        seed: int = 0,
        skip_batches: int = 0,
        input_context=None,
    ):
        """One pass over `split`; training batches shuffled by `seed` (one seed per epoch, so a
        resumed run replays the interrupted epoch's order and skips the batches it had done)."""
        import tensorflow as tf

        from mezoo.data import make_dataset

        data = make_dataset(
            self.spec,
            split,
            batch_size,
            training=training,
            shuffle_buffer=self.shuffle_buffer,
            seed=seed,
            repeat=False,
            drop_remainder=training,
            deterministic=True,
            input_context=input_context,
        )
        # No tf.data autotuning thread: Keras makes one iterator per `fit`, i.e. per epoch here,
        # and destroying an autotuned iterator waits for that thread's optimisation period,
        # which grows to seconds (12-17 s at the end of an epoch in half the main job's epochs,
        # seen in training runs). AUTOTUNE parallelism then falls back to TensorFlow's fixed defaults.
        options = tf.data.Options()
        options.autotune.enabled = False
        data = data.with_options(options)
        return data.skip(skip_batches) if skip_batches else data


def data_directory(data_cfg: DataConfig, data=None) -> Path:
    """`--data`, else the recipe's `data.location`, else $MEZOO_DATA/<dataset>, else ~/mezoo_data/<dataset>."""
    if data:
        return Path(data).expanduser()
    if data_cfg.location:
        return Path(data_cfg.location).expanduser()
    root = os.environ.get("MEZOO_DATA") or Path.home() / "mezoo_data"
    return Path(root).expanduser() / data_cfg.dataset


def cache_directory() -> Path:
    return Path(os.environ.get("MEZOO_CACHE") or Path.home() / ".cache" / "mezoo").expanduser()


def builtin_sample(
    dataset: str, rows: int, seed: int, max_cardinality: int = 0, first_order: float = 0.3, verbose: int = 1
) -> Path:
    """Generates (once, then cached) and converts the built-in synthetic sample of `dataset`."""
    if dataset not in CONVERTERS:
        raise DataNotFoundError(f"no built-in sample for dataset {dataset!r}; there are: {', '.join(CONVERTERS)}")
    root = (
        cache_directory()
        / "builtin"
        / f"{dataset}-{rows}-card{max_cardinality}-fo{first_order:g}-seed{seed}-v{BUILTIN_VERSION}"
    )
    converted = root / "converted"
    if (converted / SPEC_NAME).exists():
        return converted
    # Built in a private directory, then renamed into place: a killed run leaves no half
    # sample behind, and processes starting together (a cluster's workers) don't collide.
    root.parent.mkdir(parents=True, exist_ok=True)
    work = root.parent / f".{root.name}.tmp-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    raw = work / ("raw" if dataset == "frappe" else {"criteo": "train.txt", "avazu": "train.csv"}[dataset])
    if verbose:
        print(f"generating the built-in {dataset} sample ({rows:,} rows) in {root} ...", flush=True)
    try:
        # (the converters' own commands, in subprocesses: mezoo imports nothing from tfrecord_tools)
        generate = [sys.executable, "-m", "tfrecord_tools.synthetic", "--dataset", dataset, "--rows", str(rows)]
        generate += ["--output", str(raw), "--seed", str(seed), "--max_cardinality", str(max_cardinality)]
        generate += ["--first_order", repr(float(first_order))]
        run_step(generate, "generating")
        planted = raw / "planted.json" if dataset == "frappe" else Path(f"{raw}.planted.json")
        command = [sys.executable, "-m", CONVERTERS[dataset], "--output", str(work / "converted"), "--seed", str(seed)]
        if dataset == "frappe":  # its schema names the given train/valid/test files
            command += ["--schema", str(raw / "schema.yaml")]
        else:
            command += ["--input", str(raw)]
        run_step(command, "converting")
        (work / "converted" / "planted.json").write_text(planted.read_text())
        if not (converted / SPEC_NAME).exists():  # else another process finished first
            shutil.rmtree(root, ignore_errors=True)  # a partial sample of an older version
            try:
                os.rename(work, root)
            except OSError:
                if not (converted / SPEC_NAME).exists():
                    raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return converted


def run_step(command: List[str], what: str) -> None:
    """Runs one step of making the built-in sample; its stderr's end in the error when it fails."""
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{what} the built-in sample failed ({' '.join(command)}):\n{result.stderr[-3000:]}")


class DataNotFoundError(MissingInput):
    """Data asked for explicitly (`--data`, a recipe's `data.location`) that isn't a finished conversion."""


def open_source(data_cfg: DataConfig, data=None, verbose: int = 1):
    """The run's data: converted data where it exists, else the built-in sample, with a banner.

    Only the implicit default ($MEZOO_DATA/<dataset>, ~/mezoo_data/<dataset>) falls back to the
    built-in sample: data named explicitly must exist, or a run started while it is being
    (re)converted would train on generated rows and say nothing.
    """
    directory = data_directory(data_cfg, data)
    shuffle = data_cfg.shuffle_buffer
    if (directory / SPEC_NAME).exists():
        return TFRecordSource(directory, shuffle_buffer=shuffle)
    if data or data_cfg.location:
        named = f"--data {data}" if data else f"the recipe's data.location {data_cfg.location}"
        state = "does not exist" if not directory.exists() else "has no feature_spec.json (not a finished conversion)"
        raise DataNotFoundError(
            f"{named}: {directory.resolve()} {state}; convert raw data there with "
            f"python -m {CONVERTERS.get(data_cfg.dataset, 'tfrecord_tools.csv')}, or give another directory"
        )
    dataset = data_cfg.dataset
    converted = builtin_sample(
        dataset,
        data_cfg.synthetic_rows,
        seed=0,
        max_cardinality=data_cfg.synthetic_max_cardinality,
        first_order=float(data_cfg.synthetic_first_order),
        verbose=verbose,
    )
    planted = json.loads((converted / "planted.json").read_text())["planted_auc_heldout"]
    if verbose:
        bar = "=" * 78
        print(
            f"{bar}\nNo converted {dataset} data in {directory}: training on mezoo's BUILT-IN SYNTHETIC SAMPLE\n"
            f"({converted}), generated with the published {dataset} statistics and a planted model (its\n"
            f"own test AUC: {planted:.4f}). Results say nothing about real {dataset} data. To use real data:\n"
            f"  python -m {CONVERTERS[dataset]} --input <raw file> --output {directory}\n"
            f"then run the same command again (or pass --data DIR).\n{bar}",
            flush=True,
        )
    source = TFRecordSource(converted, synthetic=True, planted_auc=planted, shuffle_buffer=shuffle)
    source.builtin = True
    return source
