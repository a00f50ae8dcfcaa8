"""python -m mezoo.predict --export DIR --input FILE[,FILE...] --format criteo|avazu|csv|tsv --output FILE

Scores raw files through an export (`mezoo.export`'s `<output>/<version>` directory): lines are
read and checked as the converter reads them, rejected ones reported with the converter's
reasons in `<output>.rejects.tsv`, never silently skipped; the output holds
`file<TAB>line<TAB>probability` for every other line, in input order. A label column is used
if present (Criteo files with 39 columns, e.g. test.txt, have none). See `mezoo.serving.scoring`.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv):
    from absl import flags

    from mezoo.cli import run_cli
    from mezoo.serving.scoring import ScoringError, score_files
    from tfrecord_tools.common_flags import input_paths

    FLAGS = flags.FLAGS
    if len(argv) > 1:
        raise SystemExit(f"unexpected arguments: {argv[1:]}")
    run_cli(
        lambda: score_files(
            FLAGS.export,
            input_paths(FLAGS.input),
            FLAGS.format,
            FLAGS.output,
            delimiter=FLAGS.delimiter,
            header=None if FLAGS.header == "auto" else FLAGS.header == "true",
            batch_size=FLAGS.batch_size,
            accept_unterminated_last_line=FLAGS.accept_unterminated_last_line,
        ),
        user_errors=(ScoringError,),
    )


if __name__ == "__main__":
    from absl import app, flags

    flags.DEFINE_string("export", None, "an export version directory (mezoo.export: <output>/<version>)")
    flags.DEFINE_multi_string(
        "input", None, "raw input file(s), plain or gzip; repeat or separate with commas; globs are expanded"
    )
    flags.DEFINE_enum(
        "format",
        None,
        ["criteo", "avazu", "csv", "tsv"],
        "criteo: label<TAB>I1..C26 (or without the label); avazu, csv, tsv: a header naming the columns",
    )
    flags.DEFINE_string("output", None, "output TSV: file, line, probability (rejects beside it: <output>.rejects.tsv)")
    flags.DEFINE_string("delimiter", None, "column delimiter (default: the format's)")
    flags.DEFINE_enum(
        "header",
        "auto",
        ["auto", "true", "false"],
        "whether the input has a header line (auto: all formats but criteo)",
    )
    flags.DEFINE_integer("batch_size", 8192, "rows per call of the model")
    flags.DEFINE_bool(
        "accept_unterminated_last_line",
        False,
        "score a last line that has no newline (by default it is rejected as truncated_last_line: the file may be cut)",
    )
    for name in ("export", "input", "format", "output"):
        flags.mark_flag_as_required(name)
    app.run(main)
