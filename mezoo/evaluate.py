"""python -m mezoo.evaluate --run_dir DIR [--split test] [--data DIR]: exact AUC / log loss.

Scores a trained run's `model.keras` on any split of converted data: by default the data the
run trained on (recorded in its run.json), else `--data`.
"""

import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

import mezoo  # noqa: E402,F401  (registers the models for load_model)
from mezoo import recipe as recipes  # noqa: E402
from mezoo.train import evaluate_split  # noqa: E402


def evaluate(run_dir, split: str = "test", data=None, source=None) -> dict:
    """`{"auc", "logloss", "rows"}` of the run's model on `split`."""
    run_dir = Path(run_dir)
    model_path = run_dir / "model.keras"
    if not model_path.exists():
        raise FileNotFoundError(f"{model_path} does not exist: is {run_dir} a finished mezoo.train run?")
    resolved = recipes.load(run_dir / "recipe.yaml")
    if source is None:
        from mezoo.training.data_sources import open_source

        recorded = json.loads((run_dir / "run.json").read_text()).get("data") if (run_dir / "run.json").exists() else None
        source = open_source(resolved["data"], data or recorded, verbose=0)
    model = keras.models.load_model(model_path)
    return evaluate_split(model, source, split, int(resolved["data"]["batch_size"]))


def main(argv):
    from absl import flags

    FLAGS = flags.FLAGS
    result = evaluate(FLAGS.run_dir, FLAGS.split, FLAGS.data)
    print(json.dumps({"run_dir": FLAGS.run_dir, "split": FLAGS.split, **result}))


if __name__ == "__main__":
    from absl import app, flags

    flags.DEFINE_string("run_dir", None, "a mezoo.train run directory (holds model.keras and recipe.yaml)")
    flags.DEFINE_string("split", "test", "split of the converted data to score: train, valid or test")
    flags.DEFINE_string("data", None, "converted data directory; default: the data the run trained on")
    flags.mark_flag_as_required("run_dir")
    app.run(main)
