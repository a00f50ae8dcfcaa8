"""Criteo (Kaggle train.txt, or the 1TB day_0 .. day_23 files) -> TFRecord shards + feature spec.

    python -m tfrecord_tools.criteo --input train.txt --output DIR

The paper's preprocessing by default: label<TAB>I1..I13<TAB>C1..C26 without header; vocabulary
over the whole input with min count 10 (rarer values -> OOV id 0); I1..I13 bucketed
(missing -> own token, v > 2 -> floor(ln(v)^2) via exact integer thresholds, else v - 2);
a seeded random 8:1:1 split; train rows shuffled. Integers must be integers (a value such as
"3.5" rejects its row as bad_integer).
"""

from absl import app, flags

from tfrecord_tools import common_flags
from tfrecord_tools.core import convert, run_main
from tfrecord_tools.formats import criteo_layout
from tfrecord_tools.reader import FileInfo

common_flags.define(min_count=10)
flags.adopt_module_key_flags(common_flags)


def main(argv):
    del argv

    def run():
        files = [FileInfo(p) for p in common_flags.input_paths(common_flags.FLAGS.input)]
        convert(files, criteo_layout(), common_flags.options("criteo"))

    run_main(run, common_flags.FLAGS.verbose)


if __name__ == "__main__":
    app.run(main)
