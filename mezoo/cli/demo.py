"""python -m mezoo.demo [--rows 100000] [--sets 4] [--dim 8] [--epochs 8]: mezoo as a library in a minute.

Builds a small multi-embedding model by hand from `mezoo.layers`, fits it with plain Keras on a
generated click log whose signal lies in field-pair interactions, and prints its test AUC beside
the planted model's (`mezoo.demo_model`, whose source is the example).
"""

from typing import Any, List, Optional, Sequence

from mezoo.command import run_command


def define_flags(values: Any) -> None:
    from absl import flags

    flags.DEFINE_integer("rows", 100_000, "rows of the generated click log", lower_bound=100, flag_values=values)
    flags.DEFINE_integer("sets", 4, "embedding sets", lower_bound=1, flag_values=values)
    flags.DEFINE_integer("dim", 8, "width of each set", lower_bound=1, flag_values=values)
    flags.DEFINE_integer("epochs", 8, "epochs of Keras fit", lower_bound=1, flag_values=values)
    flags.DEFINE_integer("seed", 0, "seed of the data and the weights", flag_values=values)


def run(values: Any, args: List[str]) -> float:
    from mezoo.demo_model import run_demo

    return run_demo(values.rows, values.sets, values.dim, values.epochs, values.seed)


def main(argv: Optional[Sequence[str]] = None) -> None:
    run_command(__doc__, define_flags, run, argv)


if __name__ == "__main__":
    main()
