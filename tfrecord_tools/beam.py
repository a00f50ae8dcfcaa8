"""The converter as an Apache Beam pipeline: Dataflow, Flink, Spark, or a local runner.

    python -m tfrecord_tools.beam criteo --input 'gs://b/day_*.gz' --output gs://b/criteo1tb \\
        --runner DataflowRunner --project P --region R --temp_location gs://b/tmp --setup_file ./setup.py
    python -m tfrecord_tools.beam avazu --input train.csv --output DIR --runner DirectRunner
    python -m tfrecord_tools.beam csv --schema schema.yaml --input data.csv --output DIR

The same conversion as `tfrecord_tools.criteo|avazu|csv` (same flags, same defaults), with every
piece of it taken from `tfrecord_tools.convert` and `mezoo.data`, not written again:

- Files are read (plain or gzip, through `apache_beam.io.filesystems`: local, gs://, s3://...)
  by the same chunk reader (`mezoo.data.raw.reader`), one file per worker stream; chunks are
  parsed and validated by the same TF parser (`mezoo.data.raw.parser`) and counted by the same
  TF function (`convert.counting.make_count_fn`). Rejected lines carry file, line, reason
  (`mezoo.data.raw.rules.REASONS`) and text into `rejects.tsv`; each reason is a Beam counter
  (namespace `mezoo.rejects`) and the per-reason, per-file counts go to `summary.json`.
- Vocabularies: token counts are combined per (field, hash bucket of the token), so no worker
  holds a whole field's distinct values; only the tokens with count >= `--min_count` meet, per
  field, in `convert.vocabularies.build_vocabulary` (same order, same ties, same `--max_vocab_size`).
- The split: `convert.plan.plan_splits` on the accepted-row counts per file (the same exact
  seeded permutation, so every row lands in the same split at the same position), computed
  once and handed to each chunk as its slice. Its arrays take about 9 bytes per accepted row
  on one worker (40 GB for Criteo 1TB's 4.4 B rows: use a high-memory worker type).
- Ids: each chunk's distinct values go through `mezoo.data.RawToIds`
  (`convert.transform.make_transform_fn`), the tables built once per worker process
  (`apache_beam.utils.shared`), then rows are grouped per output shard, put in their position
  order, serialized as `mezoo.data.examples.serialize_examples` does and written by
  `convert.records.write_records` as a gzip TFRecord locally, then copied to its final name.
  Vocabularies, `rejects.tsv` and `summary.json` follow, `feature_spec.json` last, the same
  bytes as the single-machine converter writes (`convert.output.conversion_files`).

What differs from the single-machine converter, and why it is harmless: the bytes of a shard's
gzip stream (the same records in the same order; zlib framing only), and the order in which
shards appear. `rows_read == rows_written + rows_rejected` is checked by the last step, which
fails the pipeline (nothing is installed: no spec) when it does not hold; a full disk is one
`DiskFull` line naming the output, the previous conversion left as it was. There is no output
lock across machines: do not run two conversions into one output directory. Parquet input
(csv tool) is not supported here yet.
"""

import os
from typing import Any, Dict, List, Optional

from mezoo.data.raw.reader import FileInfo, input_paths
from mezoo.errors import UsageError
from tfrecord_tools.beam_pipeline.files import expand_inputs, fs_open
from tfrecord_tools.beam_pipeline.pipeline import run
from tfrecord_tools.beam_pipeline.runtime import require_beam
from tfrecord_tools.convert.errors import ConversionError
from tfrecord_tools.convert.spec import format_summary

DATASETS = {"criteo": 10, "avazu": 4, "csv": 1}  # each tool's default --min_count


def define_flags(values: Any) -> None:
    from absl import flags

    from tfrecord_tools import common_flags

    common_flags.define(values, min_count=None, input_required=False)
    flags.DEFINE_string(
        "schema", None, "csv only: the schema file (YAML or JSON), as tfrecord_tools.csv takes it.", flag_values=values
    )


def convert_command(values: Any, rest: List[str]) -> Dict:
    """The command's work: `rest` holds the dataset name and the Beam pipeline options."""
    from tfrecord_tools import common_flags

    positional = [a for a in rest if a in DATASETS]
    beam_args = [a for a in rest if a not in DATASETS or a is not positional[0]] if positional else rest
    if len(positional) < 1:
        raise UsageError(
            f"usage: python -m tfrecord_tools.beam {{{'|'.join(DATASETS)}}} --input ... --output ... "
            "[--runner DirectRunner|PrismRunner|DataflowRunner|FlinkRunner|SparkRunner ...]"
        )
    dataset = positional[0]
    if values.min_count is None:
        values.min_count = DATASETS[dataset]
    require_beam()
    if dataset == "csv":
        from tfrecord_tools.schema import build, load_schema

        if not values.schema:
            raise UsageError("csv needs --schema")
        schema = load_schema(values.schema)
        common_flags.apply_schema_defaults(values, schema)
        files, layout, fmt = build(
            schema, os.path.dirname(os.path.abspath(values.schema)), input_paths(values.input), values.schema
        )
        if fmt == "parquet":
            raise ConversionError(
                "Parquet input is not supported by tfrecord_tools.beam yet: use "
                "tfrecord_tools.csv, or convert to delimited text"
            )
        opts = common_flags.options(values, schema.get("dataset", "csv"))
        if schema.get("vocabulary_splits"):
            opts.vocabulary_splits = list(schema["vocabulary_splits"])
    else:
        from tfrecord_tools.formats import avazu_layout, check_avazu_header, criteo_layout

        if not values.input:
            raise UsageError("--input is required")
        paths = expand_inputs(values.input)
        layout = criteo_layout() if dataset == "criteo" else avazu_layout()
        if dataset == "avazu":
            check_avazu_header(paths, opener=fs_open)
        files = [FileInfo(p) for p in paths]
        opts = common_flags.options(values, dataset)
    opts.output = opts.output.rstrip("/") if "://" in opts.output else os.path.abspath(opts.output)
    print(
        f"tfrecord_tools.beam {dataset}: {len(files)} input file(s) -> {opts.output}; Beam options: "
        f"{' '.join(beam_args) or '(defaults: DirectRunner)'}",
        flush=True,
    )
    summary = run(files, layout, opts, beam_args)
    print(format_summary({k: v for k, v in summary.items() if k != "timing"}))
    if summary.get("metrics_rejected") is not None:
        print(
            "  Beam counters (mezoo.rejects): "
            + (", ".join(f"{k} {v:,}" for k, v in sorted(summary["metrics_rejected"].items())) or "none")
        )
    print(f"  time {summary['timing']['total_s']} s ({summary['timing']['rows_per_s']:,} rows/s end to end)")
    return summary


def main(argv: Optional[List[str]] = None) -> None:
    """`python -m tfrecord_tools.beam DATASET [the tool's flags] [Beam pipeline options]`."""
    from mezoo.command import run_command

    run_command(
        __doc__,
        define_flags,
        convert_command,
        argv,
        program="python -m tfrecord_tools.beam",
        known_only=True,
    )


if __name__ == "__main__":
    main()
