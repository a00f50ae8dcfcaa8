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
    vocabulary_splits: [train]

Without `splits`, pass `--input` and the rows are split at random (`--split`). With given
splits, vocabularies are counted on `vocabulary_splits` (default: train only), train rows are
shuffled and the others keep their order. Text is split on the delimiter only: quoted fields
are not interpreted (convert such files to Parquet first). Columns not named are ignored.
"""

import os
from typing import Any, List, Optional, Sequence

from mezoo.command import run_command
from tfrecord_tools import common_flags


def define_flags(values: Any) -> None:
    from absl import flags

    common_flags.define(values, min_count=1, input_required=False)
    flags.DEFINE_string(
        "schema",
        None,
        "Schema file (YAML or JSON): format, delimiter, header/columns, label, "
        "categorical, integer, numeric, optional splits; see the module docstring.",
        flag_values=values,
    )
    flags.mark_flag_as_required("schema", flag_values=values)


def run(values: Any, args: List[str]) -> dict:
    from mezoo.data.raw.reader import input_paths
    from tfrecord_tools.convert.pipeline import convert
    from tfrecord_tools.schema import build, load_schema

    schema = load_schema(values.schema)
    common_flags.apply_schema_defaults(values, schema)
    files, layout, fmt = build(
        schema, os.path.dirname(os.path.abspath(values.schema)), input_paths(values.input), values.schema
    )
    opts = common_flags.options(values, schema.get("dataset", "csv"))
    if schema.get("vocabulary_splits"):
        opts.vocabulary_splits = list(schema["vocabulary_splits"])
    return convert(files, layout, opts, fmt=fmt)


def main(argv: Optional[Sequence[str]] = None) -> None:
    run_command(__doc__, define_flags, run, argv, program="python -m tfrecord_tools.csv")


if __name__ == "__main__":
    main()
