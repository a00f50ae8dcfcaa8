"""python -m mezoo.evaluate --run_dir DIR [--split test] [--data DIR]: exact AUC / log loss.

Scores a trained run's `model.keras` on any split of converted data: by default the data the
run trained on (recorded in its run.json), else `--data`, which must be the run's data (the same
fields and vocabularies: `mezoo.training.run_directory.check_data_matches_run`).
"""

import json
from typing import Any, List, Optional, Sequence

from mezoo.command import run_command


def define_flags(values: Any) -> None:
    from absl import flags

    flags.DEFINE_string(
        "run_dir", None, "a mezoo.train run directory (holds model.keras and recipe.yaml)", flag_values=values
    )
    flags.DEFINE_enum(
        "split", "test", ["train", "valid", "test"], "split of the converted data to score", flag_values=values
    )
    flags.DEFINE_string(
        "data", None, "converted data directory; default: the data the run trained on", flag_values=values
    )
    flags.mark_flag_as_required("run_dir", flag_values=values)


def run(values: Any, args: List[str]) -> dict:
    from mezoo.training.evaluation import evaluate_run

    result = evaluate_run(values.run_dir, values.split, values.data)
    print(json.dumps({"run_dir": values.run_dir, "split": values.split, **result}))
    return result


def main(argv: Optional[Sequence[str]] = None) -> None:
    run_command(__doc__, define_flags, run, argv)


if __name__ == "__main__":
    main()
