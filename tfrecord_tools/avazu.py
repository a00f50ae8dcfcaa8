"""Avazu (Kaggle train.csv) -> TFRecord shards + feature spec.

    python -m tfrecord_tools.avazu --input train.csv --output DIR

The paper's preprocessing by default: CSV with header (id,click,hour,C1,...,C21); `id`
dropped; `click` is the label; the 22 other columns are categorical strings, `hour`
(YYMMDDHH) used raw as a category; vocabulary over the whole input with min count 4; a
seeded random 8:1:1 split; train rows shuffled. Each file's header must be Avazu's.
"""

from absl import app, flags

from tfrecord_tools import common_flags
from tfrecord_tools.core import convert, run_main
from tfrecord_tools.formats import avazu_layout, check_avazu_header
from tfrecord_tools.reader import FileInfo, check_inputs

common_flags.define(min_count=4)
flags.adopt_module_key_flags(common_flags)


def main(argv):
    del argv

    def run():
        paths = common_flags.input_paths(common_flags.FLAGS.input)
        check_inputs(paths)
        check_avazu_header(paths)
        convert([FileInfo(p) for p in paths], avazu_layout(), common_flags.options("avazu"))

    run_main(run, common_flags.FLAGS.verbose)


if __name__ == "__main__":
    app.run(main)
