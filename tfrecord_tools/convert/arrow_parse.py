"""The single-machine converter's first pass on Apache Arrow: split, validate and count a chunk.

`first_pass.validate_and_count` calls `first_pass_chunk` on each chunk (in threads: pyarrow releases
the GIL). A text chunk that can be read by `pyarrow.csv` exactly as the TF parser
(`mezoo.data.raw.parser.make_parser`) reads it, and whose every line is valid, is split, validated and counted
here without TF (`parse_lines`, `all_valid`). Any other chunk (a bad line of any reason, a line
with a CR, invalid UTF-8, a truncated last line, a row pyarrow would read differently, numeric
columns, Parquet) goes through the TF parser, which decides every line's reason; its accepted
lines are then counted here too. So each rejected line is still detected, with its reason,
by the one parser, and Arrow only ever sees chunks (or accepted lines) that the TF parser
would accept whole.

Counting (`count_table`) gives what `counting.make_count_fn` gives, computed on Arrow arrays: per
field the chunk's distinct raw values (first-appearance order, `dictionary_encode`), each row's
index into them, and the token counts (integer fields: counts per log-square bucket, from
`mezoo.data.transform.log_square_bucket_reference`, the integer twin of the TF transform;
multi-valued fields: counts per kept token, `counting.multi_valued_counts`). The
vocabularies come from these counts; the ids still come from `mezoo.data.RawToIds`
(`transform.make_packed_transform_fn`).
"""

import dataclasses
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from mezoo.data.multi_valued import is_multi_valued
from mezoo.data.raw.reader import BOM
from mezoo.data.raw.rules import INTEGER_PATTERN_ANCHORED
from tfrecord_tools.convert.counting import multi_valued_counts


@dataclasses.dataclass
class ChunkCounts:
    """One chunk's first pass: each line's reason and its accepted rows, counted.

    `reason` is 0 for an accepted line, else 1 + the index of its reason in `mezoo.data.raw.rules.REASONS`.
    """

    reason: np.ndarray  # int32 (num_lines,)
    labels: np.ndarray  # uint8 (accepted,)
    dense: np.ndarray  # float32 (accepted, num_numeric)
    index: np.ndarray  # int32 (accepted, num_fields): each row's index into `values`
    values: List[Any]  # per field: pyarrow binary array of the chunk's distinct raw values
    keys: List[Any]  # per field: token keys (int64 numpy for integer fields, pyarrow binary else)
    counts: List[np.ndarray]  # per field: int64 count of each key


def column_names(num_columns: int) -> List[str]:
    return [f"c{i}" for i in range(num_columns)]


def parse_lines(data: bytes, num_lines: int, num_columns: int, delimiter: str) -> Optional[Any]:
    """`data` (lines joined by LF) as a pyarrow table of binary columns, or None when pyarrow
    would not read exactly `num_lines` rows of `num_columns` fields split on `delimiter` only.

    The caller makes sure that pyarrow's reading is the TF parser's: no CR in `data` (pyarrow
    ends a line there), no UTF-8 byte-order mark at its start (pyarrow drops it), at least
    two columns (so an empty line is a column-count error, not a row)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = column_names(num_columns)
    if num_lines == 0:
        return pa.table({n: pa.array([], pa.binary()) for n in names})
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(
                column_names=names, use_threads=False, block_size=min(len(data) + 1, 2**31 - 1)
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                quote_char=False,
                double_quote=False,
                escape_char=False,
                newlines_in_values=False,
                ignore_empty_lines=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.binary() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        return None
    if table.num_rows != num_lines:
        return None
    return table


def can_read_as_arrow(data: bytes, num_columns: int, delimiter: str) -> bool:
    """Whether pyarrow reads `data` line by line and field by field as the TF parser does."""
    return num_columns >= 2 and len(delimiter) == 1 and b"\r" not in data and not data.startswith(BOM)


def all_valid(table: Any, label: Optional[int], int_cols: List[int], label_values: Tuple[str, ...]) -> bool:
    """Whether every row passes the TF parser's label and integer checks (`mezoo.data.raw.parser.make_parser`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if label is not None:
        ok = pc.is_in(table.column(label), value_set=pa.array([v.encode() for v in label_values], pa.binary()))
        if not pc.all(ok).as_py():
            return False
    for c in int_cols:  # the TF parser's pattern (it matches whole strings; pyarrow searches: anchored)
        if not pc.all(pc.match_substring_regex(table.column(c), INTEGER_PATTERN_ANCHORED)).as_py():
            return False
    return True


def table_from_rows(rows: Any, num_columns: int) -> Any:
    """The TF parser's accepted rows ((n, num_columns) strings, a tensor or a numpy object array) as a table."""
    import pyarrow as pa

    rows = rows.numpy() if hasattr(rows, "numpy") else rows
    names = column_names(num_columns)
    return pa.table({n: pa.array(rows[:, i], pa.binary()) for i, n in enumerate(names)})


def integer_keys(values: Any) -> np.ndarray:
    """Distinct raw integer strings (valid, "" = missing) -> their int64 token keys, as
    `mezoo.data.transform.field_tokens` gives them (MISSING_INT for missing, else the bucket)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from mezoo.data.transform import MISSING_INT, log_square_bucket_reference

    missing = pc.equal(values, pa.scalar(b"", pa.binary())).to_numpy(zero_copy_only=False)
    numbers = pc.cast(pc.if_else(missing, pa.scalar(b"0", pa.binary()), values), pa.int64()).to_numpy()
    return np.where(missing, np.int64(MISSING_INT), log_square_bucket_reference(numbers)).astype(np.int64)


def count_table(
    table: Any, fields: List[Dict], label: Optional[int]
) -> Tuple[np.ndarray, np.ndarray, List, List, List]:
    """Accepted rows -> (labels uint8, index (n, F) int32, distinct values, token keys, counts) per field."""
    import pyarrow as pa
    import pyarrow.compute as pc

    n = table.num_rows
    if label is not None:
        labels = pc.is_in(table.column(label), value_set=pa.array([b"1", b"1.0"], pa.binary()))
        labels = labels.to_numpy(zero_copy_only=False).astype(np.uint8)
    else:
        labels = np.zeros(n, np.uint8)
    index = np.empty((n, len(fields)), np.int32)
    values, keys, counts = [], [], []
    for i, field in enumerate(fields):
        encoded = pc.dictionary_encode(table.column(field["column"]).combine_chunks())
        idx = encoded.indices.to_numpy()
        index[:, i] = idx
        distinct = encoded.dictionary
        values.append(distinct)
        cell_counts = np.bincount(idx, minlength=len(distinct)).astype(np.int64)
        if is_multi_valued(field):
            tokens, token_counts = multi_valued_counts(distinct, cell_counts, field)
            keys.append(tokens)
            counts.append(token_counts)
            continue
        counts.append(cell_counts)
        keys.append(integer_keys(distinct) if field.get("source") == "integer" else distinct)
    return labels, index, values, keys, counts


def pack_values(values: List[Any]) -> Tuple[np.ndarray, np.ndarray, bytes]:
    """Per-field distinct values -> (byte lengths int32, values per field int32, all bytes joined)."""
    import pyarrow as pa

    lengths, sizes, data = [], [], []
    for v in values:
        v = v.cast(pa.large_binary())
        offsets = np.frombuffer(v.buffers()[1], np.int64)[v.offset : v.offset + len(v) + 1]
        lengths.append(np.diff(offsets).astype(np.int32))
        sizes.append(len(v))
        data.append(v.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]] if len(v) else b"")
    return (
        np.concatenate(lengths) if lengths else np.zeros(0, np.int32),
        np.asarray(sizes, np.int32),
        b"".join(data),
    )


def first_pass_chunk(
    chunk: Any,
    fields: List[Dict],
    layout: Any,
    label_values: Tuple[str, ...],
    tf_parse: Callable[[Any], Tuple[np.ndarray, np.ndarray, np.ndarray]],
    accept_unterminated: bool,
) -> ChunkCounts:
    """One chunk's reasons and counted accepted rows.

    Args:
        chunk: a `reader.Chunk` (text: `data`; Parquet: `columns`).
        fields: the layout's field dicts (with "column").
        layout: the `mezoo.data.raw.layout.Layout`.
        label_values: the accepted label strings (`mezoo.data.raw.rules.LABEL_VALUES`).
        tf_parse: chunk -> (reason, accepted rows (n, num_columns) strings, dense) as numpy
            arrays (the rows may stay a tensor), the TF parser (`mezoo.data.raw.parser.make_parser`) on the chunk.
        accept_unterminated: --accept_unterminated_last_line.
    """
    ncol = layout.num_columns
    int_cols = [f["column"] for f in layout.fields if f.get("source") == "integer"]
    table = None
    text = chunk.data is not None
    arrow_text = text and can_read_as_arrow(chunk.data, ncol, layout.delimiter)
    if (
        arrow_text
        and not layout.numeric  # TF parses the numbers: dense values stay its float32
        and chunk.bad_utf8 is None
        and not (chunk.unterminated and not accept_unterminated)
    ):
        table = parse_lines(chunk.data, chunk.num_lines, ncol, layout.delimiter)
        if table is not None and not all_valid(table, layout.label, int_cols, label_values):
            table = None
    if table is not None:
        reason = np.zeros(chunk.num_lines, np.int32)
        dense = np.zeros((table.num_rows, 0), np.float32)
    else:
        reason, rows, dense = tf_parse(chunk)
        good = reason == 0
        if arrow_text and good.all():
            table = parse_lines(chunk.data, chunk.num_lines, ncol, layout.delimiter)
        elif arrow_text:
            lines = chunk.data.split(b"\n")
            kept = b"\n".join(line for line, ok in zip(lines, good) if ok)
            table = parse_lines(kept, int(good.sum()), ncol, layout.delimiter) if not kept.startswith(BOM) else None
        if table is None:
            table = table_from_rows(rows, ncol)
    labels, index, values, keys, counts = count_table(table, fields, layout.label)
    return ChunkCounts(reason, labels, np.asarray(dense, np.float32), index, values, keys, counts)
