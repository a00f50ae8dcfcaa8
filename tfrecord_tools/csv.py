"""Any delimited file or Parquet, described by a small schema file -> TFRecord shards + spec.

    python -m tfrecord_tools.csv --schema schema.yaml [--input data.csv] --output DIR

The schema (YAML or JSON) names the columns' roles; paths in it are relative to the schema:

    dataset: frappe
    format: csv            # csv | tsv | parquet (or give `delimiter:` for other text)
    header: true           # first line names the columns; else list them in `columns:`
    label: label           # 0/1 column
    categorical: [user, item, daytime, weekday, isweekend, homework, cost, weather, country, city]
    integer: []            # integer columns bucketed as Criteo's (log_square_bucket)
    numeric: []            # float columns, written as `dense`
    splits: {train: train.csv, valid: valid.csv, test: test.csv}   # optional given split
    min_count: 1           # optional defaults for the flags of the same names
    vocabulary_from: [train]

Without `splits`, pass `--input` and the rows are split at random (`--split`). With given
splits, vocabularies are counted on `vocabulary_from` (default: train only), train rows are
shuffled and the others keep their order. Text is split on the delimiter only: quoted fields
are not interpreted (convert such files to Parquet first). Columns not named are ignored.
"""

import os

from absl import app, flags

from tfrecord_tools import common_flags
from tfrecord_tools.core import convert, run_main
from tfrecord_tools.schema import build, load_schema

common_flags.define(min_count=1, input_required=False)
flags.adopt_module_key_flags(common_flags)
flags.DEFINE_string(
    "schema",
    None,
    "Schema file (YAML or JSON): format, delimiter, header/columns, label, "
    "categorical, integer, numeric, optional splits; see the module docstring.",
)
flags.mark_flag_as_required("schema")
FLAGS = flags.FLAGS


def main(argv):
    del argv

    def run():
        schema = load_schema(FLAGS.schema)
        common_flags.apply_schema_defaults(schema)
        files, layout, fmt = build(
            schema, os.path.dirname(os.path.abspath(FLAGS.schema)), common_flags.input_paths(FLAGS.input)
        )
        opts = common_flags.options(schema.get("dataset", "csv"))
        if schema.get("vocabulary_from"):
            opts.vocabulary_splits = list(schema["vocabulary_from"])
        convert(files, layout, opts, fmt=fmt)

    run_main(run, common_flags.FLAGS.verbose)


if __name__ == "__main__":
    app.run(main)
