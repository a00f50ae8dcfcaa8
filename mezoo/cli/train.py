"""python -m mezoo.train --recipe NAME: train a zoo model, resumably, tracking abundance.

    python -m mezoo.train --recipe dcnv2_me_criteo [--set section.key=value ...] [--data DIR]
                          [--run_dir DIR] [--strategy auto|one_device|mirrored|multi_worker]

The same from Python: `mezoo.training.trainer.train("dcnv2_me_criteo", overrides=[...], data=..., run_dir=...)`.
Each epoch: the training steps (a progress bar with examples/s; a backup every
`train.backup_every_steps` steps), exact AUC and log loss over the whole validation split,
information abundance, the plateau and early-stopping rules on validation AUC. At the end the
best epoch's weights are restored and the test split is scored once. Running the same
command again resumes from the backup, or reports the finished run.

This module is the command line (flags, then a call to `mezoo.training.trainer.train`).
"""

from typing import Any, List, Optional, Sequence

from mezoo.command import run_command

STRATEGIES = ("auto", "one_device", "mirrored", "multi_worker")


def define_flags(values: Any) -> None:
    from absl import flags

    from mezoo import recipe as recipes

    flags.DEFINE_string(
        "recipe",
        None,
        "installed recipe name or path to a YAML file; installed: " + ", ".join(recipes.names()),
        flag_values=values,
    )
    flags.DEFINE_multi_string(
        "set", [], "override section.key=value (repeatable), e.g. model.num_embedding_sets=4", flag_values=values
    )
    flags.DEFINE_string(
        "data",
        None,
        "directory of converted data (feature_spec.json + shards); default: the recipe's",
        flag_values=values,
    )
    flags.DEFINE_string(
        "run_dir", None, "run directory; default runs/<recipe>[-<digest of overrides>]", flag_values=values
    )
    flags.DEFINE_enum(
        "strategy",
        "auto",
        STRATEGIES,
        "auto: mirrored with 2+ GPUs, multi_worker with a TF_CONFIG cluster",
        flag_values=values,
    )
    flags.mark_flag_as_required("recipe", flag_values=values)


def run(values: Any, args: List[str]) -> dict:
    from mezoo.training.trainer import train

    return train(values.recipe, values.set, data=values.data, run_dir=values.run_dir, strategy=values.strategy)


def main(argv: Optional[Sequence[str]] = None) -> None:
    run_command(__doc__, define_flags, run, argv)


if __name__ == "__main__":
    main()
