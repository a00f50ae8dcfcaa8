"""Avazu (Kaggle train.csv) -> TFRecord shards + feature spec.

    python -m tfrecord_tools.avazu --input train.csv --output DIR

The paper's preprocessing by default: CSV with header (id,click,hour,C1,...,C21); `id`
dropped; `click` is the label; the 22 other columns are categorical strings, `hour`
(YYMMDDHH) used raw as a category; vocabulary over the whole input with min count 4; a
seeded random 8:1:1 split; train rows shuffled. Each file's header must be Avazu's.
"""

from absl import app

from tfrecord_tools import common_flags
from tfrecord_tools.core import ConversionError, Layout, convert, run_main
from tfrecord_tools.reader import FileInfo, read_header

COLUMNS = ["id", "click", "hour", "C1", "banner_pos", "site_id", "site_domain", "site_category", "app_id",
           "app_domain", "app_category", "device_id", "device_ip", "device_model", "device_type",
           "device_conn_type", "C14", "C15", "C16", "C17", "C18", "C19", "C20", "C21"]
FIELDS = COLUMNS[2:]

common_flags.define(min_count=4)


def layout() -> Layout:
    fields = [{"name": n, "kind": "categorical", "source": "string", "column": 2 + i} for i, n in enumerate(FIELDS)]
    return Layout(num_columns=len(COLUMNS), label=1, fields=fields, delimiter=",", header=True, label_name="click")


def check_header(path: str) -> None:
    header = read_header(path).decode("utf-8", "replace").split(",")
    if header != COLUMNS:
        raise ConversionError(f"{path}: header is not Avazu's train.csv header (expected {','.join(COLUMNS)}, "
                              f"got {','.join(header)[:300]})")


def main(argv):
    del argv

    def run():
        paths = common_flags.input_paths(common_flags.FLAGS.input)
        files = [FileInfo(p) for p in paths]
        from tfrecord_tools.reader import check_inputs
        check_inputs(paths)
        for p in paths:
            check_header(p)
        convert(files, layout(), common_flags.options("avazu"))

    run_main(run)


if __name__ == "__main__":
    app.run(main)
