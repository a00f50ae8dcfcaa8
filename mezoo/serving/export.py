"""A finished run -> a SavedModel that TF Serving loads and answers on raw feature values.

Layout (TF Serving's): `<output>/<version>/` with `saved_model.pb`, `variables/`, `assets/`
(one `key<TAB>id` lookup table per field: the vocabularies, as SavedModel assets) and
`assets.extra/` (`feature_spec.json` with its `vocab/` files, `mezoo_export.json`, and
`tf_serving_warmup_requests`). Signatures:

- `serving_default(examples: string[None])`: serialized `tf.train.Example`s holding the RAW
  source values, every categorical or integer field a `bytes_list` of its raw text (a
  multi-valued field: several values, or one separated string), numeric fields a `float_list`;
  any feature may be absent (= missing). Returns `probability` (batch, 1).
- `predict_raw(raw: string[None, F], dense: float[None, D])`: the same on raw values in spec
  field order, without the Example wrapping (what `mezoo.predict` sends); a multi-valued field's
  cell is its values joined by the field's separator, as in the raw file.
- `predict_ids(ids: int64[None, T], dense: float[None, D])`: ids already mapped, T = the spec's
  `id_width` (a multi-valued field's `max_len` columns, -1 where a row has fewer values).

The raw -> id step is `mezoo.data.RawToIds`, the module the converter ran, so training and
serving cannot disagree. Nothing in the SavedModel needs Python or mezoo at load time.
"""

import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Optional, Sequence

import keras

from mezoo.data.feature_spec import SPEC_NAME, FeatureSpec, read_vocabulary, vocabulary_path
from mezoo.directory_lock import directory_lock, remove_stale
from mezoo.disk_full import full_disk_reported
from mezoo.errors import BadInput
from mezoo.run_layout import RunDirectory
from mezoo.serving.raw_examples import warmup_rows_from_vocabularies
from mezoo.serving.signatures import build_archive
from mezoo.serving.warmup import WARMUP_FILE, write_warmup_requests

EXPORT_META = "mezoo_export.json"
EXPORT_LOCK = ".export.lock"  # in the export base; TF Serving reads numeric directories only
SCRATCH_PATTERN = ".[0-9]*.tmp-*"  # an export's scratch directory (`.<version>.tmp-<random>`)
BUSY_HINT = "wait for it to finish and export again, or pass another --output"


class ExportError(BadInput):
    """A run that can't be exported, with what to do about it."""


def run_spec(run_dir: Path) -> FeatureSpec:
    """The run's feature spec with its vocabularies found: in the run directory (the trainer copies
    them there), else in the converted data the run recorded, checked against the spec's sizes."""
    spec_path = run_dir / SPEC_NAME
    if not spec_path.exists():
        raise ExportError(f"{spec_path} does not exist: is {run_dir} a mezoo.train run directory?")
    spec = FeatureSpec.load(str(spec_path))
    missing = [f["name"] for f in spec.fields if not os.path.exists(spec.resolve(f["vocabulary"]))]
    if not missing:
        return spec
    recorded = _recorded_data(run_dir)
    if recorded and os.path.exists(os.path.join(recorded, SPEC_NAME)):
        candidate = FeatureSpec(spec.to_dict(), recorded)
        if all(os.path.exists(candidate.resolve(f["vocabulary"])) for f in spec.fields):
            for f in spec.fields:
                size = len(read_vocabulary(candidate.resolve(f["vocabulary"]))) + 1
                if size != int(f["vocab_size"]):
                    raise ExportError(
                        f"the vocabulary of field {f['name']!r} in {recorded} has {size} ids but the run trained with "
                        f"{f['vocab_size']}: the data was reconverted after training, so this run can't be exported "
                        "with it"
                    )
            return candidate
    where = f"{run_dir / 'vocab'}" + (f" or {recorded}" if recorded else "")
    raise ExportError(
        f"the vocabularies of {len(missing)} fields ({', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''}) "
        f"are not in {where}: the converted data moved or was deleted. Pass --data with the directory the run "
        "was trained on"
    )


def _recorded_data(run_dir: Path) -> Optional[str]:
    try:
        data = json.loads(RunDirectory(run_dir).run_json.read_text()).get("data")
    except (OSError, ValueError):
        return None
    if not data:
        return None
    path = Path(data)
    return str(path if path.is_absolute() else (run_dir / path))


def default_export_base(run_dir: Path) -> Path:
    """Where a run's exports go by default: `<run_dir>/export`, but a warm-started run's go to its
    parent's export base (recorded in run.json), as the next version of the model served there."""
    try:
        recorded = (json.loads(RunDirectory(run_dir).run_json.read_text()).get("warm_start") or {}).get("export_base")
    except (OSError, ValueError):
        recorded = None
    return Path(recorded) if recorded else RunDirectory(run_dir).export


def next_version(output: Path) -> int:
    """One above the highest numeric version under `output` (TF Serving serves the highest)."""
    versions = [int(p.name) for p in output.iterdir() if p.name.isdigit()] if output.exists() else []
    return max(versions, default=0) + 1


def _load_model(run_dir: Path):
    path = RunDirectory(run_dir).model
    if not path.exists():
        raise ExportError(f"{path} does not exist: the run has not finished (train it to the end first)")
    from mezoo.saved_models import load_keras_file

    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")  # served in float32 whatever the run trained in
    try:
        return load_keras_file(path, compile=False)
    finally:
        keras.mixed_precision.set_global_policy(policy)


def export_run(
    run_dir,
    output=None,
    version: Optional[int] = None,
    jit_compile: bool = False,
    warmup_rows: Optional[Sequence[Dict]] = None,
    num_warmup: int = 8,
    warmup_input: Optional[str] = None,
    warmup_format: str = "criteo",
    verbose: bool = True,
) -> Path:
    """Exports a finished `mezoo.train` run; returns the version directory written.

    Args:
        run_dir: the run directory (holds `model.keras` and `feature_spec.json`).
        output: TF Serving's base path for the model (default `default_export_base(run_dir)`).
        version: the version directory's number (default: one above the highest there).
        jit_compile: compile the model part with XLA (TF Serving then needs
            `--xla_cpu_compilation_enabled=true`).
        warmup_rows: raw rows (dicts field -> raw value) for the TF Serving warm-up requests;
            default: the first `num_warmup` accepted lines of `warmup_input` (a raw file in
            `warmup_format`), else `num_warmup` rows of values from the vocabularies, and one
            with every feature absent.
    """
    run_dir = Path(run_dir)
    output = Path(output) if output else default_export_base(run_dir)
    if output.exists() and not output.is_dir():
        raise ExportError(f"--output {output} is a file, not a directory to hold the model's versions")
    spec = run_spec(run_dir)
    if warmup_rows is None and warmup_input:
        from mezoo.serving.scoring import read_raw_rows

        warmup_rows = read_raw_rows(spec, warmup_input, warmup_format, num_warmup)
    model = _load_model(run_dir)
    full = (
        f"no space left on the device of {output} (the export base) while exporting {run_dir}: free space there, "
        "or pass another --output; the partial version was removed"
    )
    with full_disk_reported(full):
        output.mkdir(parents=True, exist_ok=True)
        # One export of a base at a time (`mezoo.export` and the end of training alike): two would
        # pick the same version. Holding the lock, what dead exports left is theirs alone.
        with directory_lock(output, "an export", hint=BUSY_HINT, name=EXPORT_LOCK):
            removed = remove_stale(output, [SCRATCH_PATTERN])
            if removed and verbose:
                print(f"removed what a dead export left in {output}: {', '.join(removed)}", file=sys.stderr)
            version = int(version) if version is not None else next_version(output)
            final = output / str(version)
            if final.exists():
                raise ExportError(f"{final} exists already: pass another --version (TF Serving serves the highest)")
            rows = list(warmup_rows) if warmup_rows is not None else warmup_rows_from_vocabularies(spec, num_warmup)
            _write_version(model, spec, run_dir, output, version, jit_compile, rows)
    if verbose:
        print(
            f"exported {run_dir} to {final} (signatures serving_default, predict_raw, predict_ids"
            f"{'; XLA: serve with --xla_cpu_compilation_enabled=true' if jit_compile else ''})",
            flush=True,
        )
    return final


def _write_version(model, spec: FeatureSpec, run_dir: Path, output: Path, version: int, jit_compile: bool, rows):
    """Writes `<output>/<version>`: built in a scratch directory TF Serving ignores (not a number),
    renamed into place when complete. A killed export leaves only the scratch directory, which
    the next export removes."""
    scratch = Path(tempfile.mkdtemp(prefix=f".{version}.tmp-", dir=output))  # private (0700) until renamed
    staging, tables = scratch / "version", scratch / "tables"
    staging.mkdir()  # the version's own mode follows the umask, as TF Serving's user must read it
    tables.mkdir()
    try:
        archive = build_archive(model, spec, str(tables), jit_compile)
        with _quiet_tensorflow_logger():  # "Assets written to ..." and the fingerprint, at INFO level
            archive.write_out(str(staging), verbose=False)
        extra = staging / "assets.extra"
        (extra / "vocab").mkdir(parents=True)
        spec_data = spec.to_dict()
        for field in spec_data["fields"]:
            target = vocabulary_path(field["name"])
            shutil.copyfile(spec.resolve(field["vocabulary"]), extra / target)
            field["vocabulary"] = target
        # The shipped model names its inputs by file name only: no local paths leave the machine.
        for entry in spec_data.get("source") or []:
            if isinstance(entry, dict) and "path" in entry:
                entry["path"] = os.path.basename(str(entry["path"]))
        (extra / SPEC_NAME).write_text(json.dumps(spec_data, indent=1) + "\n")
        write_warmup_requests(extra / WARMUP_FILE, spec, rows)
        meta = {
            "run": run_dir.resolve().name,
            "version": version,
            "exported_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "jit_compile": bool(jit_compile),
            "signatures": signature_summary(spec),
            "fields": spec.field_names,
            "numeric": spec.numeric_names,
            "warmup_requests": len(rows),
        }
        (extra / EXPORT_META).write_text(json.dumps(meta, indent=1) + "\n")
        os.replace(staging, output / str(version))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@contextlib.contextmanager
def _quiet_tensorflow_logger():
    from absl import logging as absl_logging  # TF's saver logs through absl as well as "tensorflow"

    tf_logger = logging.getLogger("tensorflow")
    tf_level, absl_verbosity = tf_logger.level, absl_logging.get_verbosity()
    tf_logger.setLevel(max(tf_level, logging.WARNING))
    absl_logging.set_verbosity(min(absl_verbosity, absl_logging.WARNING))  # absl: higher = more verbose
    try:
        yield
    finally:
        tf_logger.setLevel(tf_level)
        absl_logging.set_verbosity(absl_verbosity)


def signature_summary(spec: FeatureSpec) -> Dict[str, Dict]:
    dense = {"dense": f"float32 [batch, {len(spec.numeric)}] ({', '.join(spec.numeric_names)})"} if spec.numeric else {}
    return {
        "serving_default": {
            "inputs": {
                "examples": "string [batch]: serialized tf.train.Example with raw values "
                "(bytes_list per field, several values in a multi-valued one; float_list per numeric field)"
            },
            "outputs": {"probability": "float32 [batch, 1]"},
        },
        "predict_raw": {
            "inputs": {"raw": f"string [batch, {len(spec.fields)}] (spec field order)", **dense},
            "outputs": {"probability": "float32 [batch, 1]"},
        },
        "predict_ids": {
            "inputs": {
                "ids": f"int64 [batch, {spec.id_width}]"
                + (" (a multi-valued field's max_len columns, -1 = no value)" if spec.has_multi_valued else ""),
                **dense,
            },
            "outputs": {"probability": "float32 [batch, 1]"},
        },
    }
