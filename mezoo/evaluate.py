"""Exact AUC / log loss of a trained run on a split of converted data (`python -m mezoo.evaluate`).

Scores a trained run's `model.keras` on any split of converted data: by default the data the
run trained on (recorded in its run.json), else `--data`.
"""

import json
import sys
from pathlib import Path

from mezoo import recipe as recipes
from mezoo.saved_models import load_keras_file


def evaluate(run_dir, split: str = "test", data=None, source=None) -> dict:
    """`{"auc", "logloss", "rows"}` of the run's model on `split`."""
    from mezoo.cli import UserError
    from mezoo.training.evaluation import evaluate_split
    from mezoo.training.run_directory import check_data_matches_run

    run_dir = Path(run_dir)
    model_path = run_dir / "model.keras"
    if not model_path.exists():
        raise FileNotFoundError(f"{model_path} does not exist: is {run_dir} a finished mezoo.train run?")
    resolved = recipes.load(run_dir / "recipe.yaml")
    model = load_keras_file(model_path)  # a damaged model is reported before the data is looked at
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
    splits = source.spec.splits if source.spec is not None else None
    if splits is not None and split not in splits:
        raise UserError(f"--split {split!r}: the data has the splits {', '.join(sorted(splits))}")
    return evaluate_split(model, source, split, resolved.data.batch_size)


if __name__ == "__main__":
    from mezoo.cli.evaluate import main

    main()
