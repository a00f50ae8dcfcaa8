"""Avazu (Kaggle train.csv) -> TFRecord shards + feature spec.

    python -m tfrecord_tools.avazu --input train.csv --output DIR

The paper's preprocessing by default: CSV with header (id,click,hour,C1,...,C21); `id`
dropped; `click` is the label; the 22 other columns are categorical strings, `hour`
(YYMMDDHH) used raw as a category; vocabulary over the whole input with min count 4; a
seeded random 8:1:1 split; train rows shuffled. Each file's header must be Avazu's.
"""

from typing import Any, List, Optional, Sequence

from mezoo.command import run_command
from tfrecord_tools import common_flags


def define_flags(values: Any) -> None:
    common_flags.define(values, min_count=4)


def run(values: Any, args: List[str]) -> dict:
    from mezoo.data.raw.reader import FileInfo, check_inputs, input_paths
    from tfrecord_tools.convert.pipeline import convert
    from tfrecord_tools.formats import avazu_layout, check_avazu_header

    paths = input_paths(values.input)
    check_inputs(paths)
    check_avazu_header(paths)
    return convert([FileInfo(p) for p in paths], avazu_layout(), common_flags.options(values, "avazu"))


def main(argv: Optional[Sequence[str]] = None) -> None:
    run_command(__doc__, define_flags, run, argv, program="python -m tfrecord_tools.avazu")


if __name__ == "__main__":
    main()
