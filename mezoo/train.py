"""python -m mezoo.train --recipe NAME: train a zoo model, resumably, tracking abundance.

    python -m mezoo.train --recipe dcnv2_me_criteo [--set section.key=value ...] [--data DIR]
                          [--run_dir DIR] [--strategy auto|one_device|mirrored|multi_worker]

The same from Python: `mezoo.train.run("dcnv2_me_criteo", overrides=[...], data=..., run_dir=...)`.
Each epoch: the training steps (a progress bar with examples/s; a backup every
`train.backup_every_steps` steps), exact AUC and log loss over the whole validation split,
information abundance, the plateau and early-stopping rules on validation AUC. At the end the
best epoch's weights are restored and the test split is scored once. Running the same
command again resumes from the backup, or reports the finished run.

This module is the command line (flags, then a call); the work is done by
`mezoo.training.trainer.Trainer`, with the stopping rules in `mezoo.training.stopping`, the
scoring in `mezoo.training.evaluation` and the run directory's files in
`mezoo.training.run_directory`.
"""

import os
import sys
from typing import Iterable, Optional

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

if __name__ == "__main__":
    from mezoo import startup

    if startup.help_only():  # answered before Keras and TensorFlow load
        from absl import app

        from mezoo.train_flags import define_flags

        define_flags()
        app.run(lambda argv: None)

# The trainer's parts, importable from here as before they moved to mezoo.training.
from mezoo.train_flags import STRATEGIES, define_flags  # noqa: E402
from mezoo.training.evaluation import evaluate_split, naming_bad_shards, predict_split  # noqa: E402
from mezoo.training.run_directory import (  # noqa: E402
    RESUME_MAY_CHANGE,
    check_same_data,
    check_same_recipe,
    default_run_dir,
    run_metadata,
)
from mezoo.training.trainer import Trainer  # noqa: E402

__all__ = [
    "RESUME_MAY_CHANGE",
    "STRATEGIES",
    "Trainer",
    "check_same_data",
    "check_same_recipe",
    "default_run_dir",
    "define_flags",
    "evaluate_split",
    "naming_bad_shards",
    "predict_split",
    "run",
    "run_metadata",
]


def run(
    recipe,
    overrides: Optional[Iterable[str]] = None,
    data=None,
    run_dir=None,
    strategy: str = "auto",
    source=None,
    verbose: int = 1,
) -> dict:
    """Trains (or resumes) the run and returns its metrics.json content.

    Args:
        recipe: an installed recipe name (`mezoo.recipe.names()`) or a path to a recipe YAML file.
        overrides: `section.key=value` strings, e.g. `["train.epochs=3"]`.
        data: converted data directory; default: the recipe's, else the built-in synthetic sample.
        run_dir: the run directory; default `runs/<recipe>[-<digest of overrides and data>]`.
        strategy: one of `STRATEGIES`.
        source: a data source to train on instead of `data` (tests pass in-memory ones).
        verbose: 0: silent; 1: progress and results.

    Example:
        >>> metrics = run("dcnv2_me_criteo", ["train.epochs=1"], run_dir="/tmp/run")  # doctest: +SKIP
    """
    return Trainer(
        recipe, overrides, data=data, run_dir=run_dir, strategy=strategy, source=source, verbose=verbose
    ).run()


def main(argv):
    from absl import flags

    from mezoo.cli import EXIT_BAD_INPUT, run_cli

    FLAGS = flags.FLAGS
    if len(argv) > 1:
        print(f"error: unexpected arguments: {argv[1:]}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    run_cli(
        lambda: run(FLAGS.recipe, FLAGS.set, data=FLAGS.data, run_dir=FLAGS.run_dir, strategy=FLAGS.strategy),
        verbose=FLAGS.verbose,
    )


if __name__ == "__main__":
    from absl import app

    define_flags()
    app.run(main)
