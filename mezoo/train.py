"""python -m mezoo.train --recipe NAME: train a zoo model, resumably, tracking abundance.

    python -m mezoo.train --recipe dcnv2_me_criteo [--set section.key=value ...] [--data DIR]
                          [--run_dir DIR] [--strategy auto|one_device|mirrored|multi_worker]

The same from Python: `mezoo.train.run("dcnv2_me_criteo", overrides=[...], data=..., run_dir=...)`.
Each epoch: the training steps (a progress bar with examples/s; a backup every
`train.backup_every_steps` steps), exact AUC and log loss over the whole validation split,
information abundance, the plateau and early-stopping rules on validation AUC. At the end the
best epoch's weights are restored and the test split is scored once. Running the same
command again resumes from the backup, or reports the finished run.

The command line is `mezoo.cli.train`; the work is done by `mezoo.training.trainer.Trainer`,
with the stopping rules in `mezoo.training.stopping`, the scoring in
`mezoo.training.evaluation` and the run directory's files in `mezoo.training.run_directory`.
"""

from typing import Iterable, Optional

__all__ = ["run"]


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
        strategy: `auto`, `one_device`, `mirrored` or `multi_worker` (`mezoo.training.strategies`).
        source: a data source to train on instead of `data` (tests pass in-memory ones).
        verbose: 0: silent; 1: progress and results.

    Example:
        >>> metrics = run("dcnv2_me_criteo", ["train.epochs=1"], run_dir="/tmp/run")  # doctest: +SKIP
    """
    from mezoo.training.trainer import Trainer

    return Trainer(
        recipe, overrides, data=data, run_dir=run_dir, strategy=strategy, source=source, verbose=verbose
    ).run()


if __name__ == "__main__":
    from mezoo.cli.train import main

    main()
