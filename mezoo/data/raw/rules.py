"""What makes a raw line acceptable, written once for the converters, the TF parser, the Arrow parser and scoring.

Every line read is accepted or rejected with the first reason of `REASONS` that applies;
`rejects.tsv` (converters) and `<output>.rejects.tsv` (scoring) list rejected lines under
`REJECTS_HEADER`, each line's text escaped by `escape_line`.
"""

# An integer field's value (int64-safe); "" is missing. The TF parser, the Arrow parser and the
# serving transform (`mezoo.data.transform`) all match this one pattern.
INTEGER_PATTERN = "-?[0-9]{1,18}"
# A numeric field's value: a decimal number (empty: missing). Beyond float32 it is rejected too.
NUMBER_PATTERN = r"([-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?)?"
# An integer field's value, anchored for matchers that search (pyarrow); "" is missing.
INTEGER_PATTERN_ANCHORED = f"^({INTEGER_PATTERN})?$"
REJECTS_HEADER = "file\tline\treason\ttext\n"


REASONS = [
    "empty_line",  # nothing on the line (also the blank last line of some files)
    "invalid_utf8",  # bytes that are not UTF-8 (checked after truncated_last_line)
    "wrong_column_count",  # more or fewer delimited columns than the format has (truncated lines too)
    "missing_label",  # empty label
    "bad_label",  # label other than 0 / 1
    "bad_integer",  # an integer field that is not an integer (e.g. "3.5", "abc", > 18 digits)
    "bad_number",  # a numeric field that is not a finite float32 number
    "truncated_last_line",  # a file's last line without its newline (the file may be cut); checked 2nd
]


LABEL_VALUES = ("0", "1", "0.0", "1.0")


SPLITS = ("train", "valid", "test")


def escape_line(line: bytes) -> str:
    """One rejects.tsv cell: the whole line, backslash escapes for \\, tab, CR and bytes that are not UTF-8."""
    text = line.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")
    return text.replace("\t", "\\t").replace("\r", "\\r")
