"""Criteo (Kaggle train.txt, or the 1TB day_0 .. day_23 files) -> TFRecord shards + feature spec.

    python -m tfrecord_tools.criteo --input train.txt --output DIR

The paper's preprocessing by default: label<TAB>I1..I13<TAB>C1..C26 without header; vocabulary
over the whole input with min count 10 (rarer values -> OOV id 0); I1..I13 bucketed
(missing -> own token, v > 2 -> floor(ln(v)^2) via exact integer thresholds, else v - 2);
a seeded random 8:1:1 split; train rows shuffled. Integers must be integers (a value such as
"3.5" rejects its row as bad_integer).
"""

from typing import Any, List, Optional, Sequence

from mezoo.command import run_command
from tfrecord_tools import common_flags


def define_flags(values: Any) -> None:
    common_flags.define(values, min_count=10)


def run(values: Any, args: List[str]) -> dict:
    from mezoo.data.raw.reader import FileInfo, input_paths
    from tfrecord_tools.convert.pipeline import convert
    from tfrecord_tools.formats import criteo_layout

    files = [FileInfo(p) for p in input_paths(values.input)]
    return convert(files, criteo_layout(), common_flags.options(values, "criteo"))


def main(argv: Optional[Sequence[str]] = None) -> None:
    run_command(__doc__, define_flags, run, argv, program="python -m tfrecord_tools.criteo")


if __name__ == "__main__":
    main()
