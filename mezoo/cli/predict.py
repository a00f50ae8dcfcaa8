"""python -m mezoo.predict --export DIR --input FILE[,FILE...] --format criteo|avazu|csv|tsv --output FILE

Scores raw files through an export (`mezoo.export`'s `<output>/<version>` directory): lines are
read and checked as the converter reads them, rejected ones reported with the converter's
reasons in `<output>.rejects.tsv`, never silently skipped; the output holds
`file<TAB>line<TAB>probability` for every other line, in input order. A label column is not
read (Criteo files with 39 columns, e.g. test.txt, have none). See `mezoo.serving.scoring`.
"""

from typing import Any, List, Optional, Sequence

from mezoo.command import run_command


def define_flags(values: Any) -> None:
    from absl import flags

    flags.DEFINE_string(
        "export", None, "an export version directory (mezoo.export: <output>/<version>)", flag_values=values
    )
    flags.DEFINE_multi_string(
        "input",
        None,
        "raw input file(s), plain or gzip; repeat or separate with commas; globs are expanded",
        flag_values=values,
    )
    flags.DEFINE_enum(
        "format",
        None,
        ["criteo", "avazu", "csv", "tsv"],
        "criteo: label<TAB>I1..C26 (or without the label); avazu, csv, tsv: a header naming the columns",
        flag_values=values,
    )
    flags.DEFINE_string(
        "output",
        None,
        "output TSV: file, line, probability (rejects beside it: <output>.rejects.tsv)",
        flag_values=values,
    )
    flags.DEFINE_string("delimiter", None, "column delimiter (default: the format's)", flag_values=values)
    flags.DEFINE_enum(
        "header",
        "auto",
        ["auto", "true", "false"],
        "whether the input has a header line (auto: all formats but criteo)",
        flag_values=values,
    )
    flags.DEFINE_integer("batch_size", 8192, "rows per call of the model (>= 1)", flag_values=values)
    flags.DEFINE_bool(
        "accept_unterminated_last_line",
        False,
        "score a last line that has no newline (by default it is rejected as truncated_last_line: the file may be cut)",
        flag_values=values,
    )
    for name in ("export", "input", "format", "output"):
        flags.mark_flag_as_required(name, flag_values=values)


def run(values: Any, args: List[str]) -> dict:
    from mezoo.data.raw.reader import input_paths
    from mezoo.serving.scoring import score_files

    return score_files(
        values.export,
        input_paths(values.input),
        values.format,
        values.output,
        delimiter=values.delimiter,
        header=None if values.header == "auto" else values.header == "true",
        batch_size=values.batch_size,
        accept_unterminated_last_line=values.accept_unterminated_last_line,
    )


def main(argv: Optional[Sequence[str]] = None) -> None:
    run_command(__doc__, define_flags, run, argv)


if __name__ == "__main__":
    main()
