"""python -m mezoo.evaluate --run_dir DIR [--split test] [--data DIR]: exact AUC / log loss.

Scores a trained run's `model.keras` on any split of converted data: by default the data the
run trained on (recorded in its run.json), else `--data`.
"""

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def define_flags():
    from absl import flags

    flags.DEFINE_string("run_dir", None, "a mezoo.train run directory (holds model.keras and recipe.yaml)")
    flags.DEFINE_enum("split", "test", ["train", "valid", "test"], "split of the converted data to score")
    flags.DEFINE_string("data", None, "converted data directory; default: the data the run trained on")
    flags.DEFINE_bool("verbose", False, "on an error, show the traceback too (also MEZOO_DEBUG=1)")
    flags.mark_flag_as_required("run_dir")


if __name__ == "__main__":
    from mezoo import startup

    if startup.help_only():  # answered before Keras and TensorFlow load
        from absl import app

        define_flags()
        app.run(lambda argv: None)

import keras  # noqa: E402

import mezoo  # noqa: E402,F401  (registers the models for load_model)
from mezoo import recipe as recipes  # noqa: E402
from mezoo.training.evaluation import evaluate_split  # noqa: E402
from mezoo.training.run_directory import check_data_matches_run  # noqa: E402


def evaluate(run_dir, split: str = "test", data=None, source=None) -> dict:
    """`{"auc", "logloss", "rows"}` of the run's model on `split`."""
    from mezoo.cli import UserError

    run_dir = Path(run_dir)
    model_path = run_dir / "model.keras"
    if not model_path.exists():
        raise FileNotFoundError(f"{model_path} does not exist: is {run_dir} a finished mezoo.train run?")
    resolved = recipes.load(run_dir / "recipe.yaml")
    model = load_trained_model(model_path)  # a damaged model is reported before the data is looked at
    if source is None:
        from mezoo.training.data_sources import open_source

        recorded = (
            json.loads((run_dir / "run.json").read_text()).get("data") if (run_dir / "run.json").exists() else None
        )
        if not data and recorded and not (Path(recorded) / "feature_spec.json").exists():
            where = (
                ""
                if Path(recorded).is_absolute()
                else f" (a path relative to the directory {run_dir} was trained from)"
            )
            raise UserError(
                f"{run_dir}/run.json records the data {recorded}{where}, which holds no feature_spec.json "
                f"now (moved or deleted?): pass --data DIR with the converted data to score"
            )
        source = open_source(resolved.data, data or recorded, verbose=0)
    for warning in check_data_matches_run(run_dir, source):
        print(warning, file=sys.stderr, flush=True)
    splits = getattr(getattr(source, "spec", None), "splits", None)
    if splits is not None and split not in splits:
        raise UserError(f"--split {split!r}: the data has the splits {', '.join(sorted(splits))}")
    return evaluate_split(model, source, split, resolved.data.batch_size)


def load_trained_model(path: Path):
    """`keras.models.load_model`, with an error that says a damaged file is damaged.

    Keras reports a truncated `.keras` archive as "File not found" for a file that exists.
    """
    import zipfile

    from mezoo.cli import UserError

    if not zipfile.is_zipfile(path):
        raise UserError(
            f"{path} is damaged or truncated ({Path(path).stat().st_size:,} bytes, not a .keras archive): "
            "train again, or restore the file"
        )
    try:
        return keras.models.load_model(path)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise UserError(f"{path} can't be loaded (damaged, or saved by an incompatible version): {error}") from error


def main(argv):
    from absl import flags

    from mezoo.cli import run_cli

    FLAGS = flags.FLAGS
    result = run_cli(lambda: evaluate(FLAGS.run_dir, FLAGS.split, FLAGS.data), verbose=FLAGS.verbose)
    print(json.dumps({"run_dir": FLAGS.run_dir, "split": FLAGS.split, **result}))


if __name__ == "__main__":
    from absl import app

    from mezoo.cli import parse_flags

    define_flags()
    app.run(main, flags_parser=parse_flags)
