"""The TF parser of raw delimited lines: each line's reason (`rules.REASONS`), the accepted rows and their numbers.

Used by the converters (the lines pyarrow can't read as the TF parser does, and the Beam
converter's every chunk) and by `mezoo.serving.scoring`, so a file scores the rows a
conversion would have kept.
"""

from typing import Any, Callable, Optional, Tuple

import numpy as np

from mezoo.data.raw.layout import Layout
from mezoo.data.raw.reader import Chunk
from mezoo.data.raw.rules import INTEGER_PATTERN, LABEL_VALUES, NUMBER_PATTERN, REASONS

Parsed = Tuple[Any, Any, Any, Any]  # (reason per line, accepted rows, their labels, their dense values): tensors


# ----------------------------------------------------------------------------------- parsing
def make_parser(
    layout: Layout, accept_unterminated: bool = False
) -> Tuple[Callable[[Any, Any, Any], Parsed], Callable[..., Parsed]]:
    """TF functions: chunk -> (reason code per line, accepted rows (n, num_columns) strings,
    labels, dense). Fast paths skip copies when every line has the right column count and
    when every row is accepted."""
    import tensorflow as tf

    int_cols = [f["column"] for f in layout.fields if f.get("source") == "integer"]
    num_cols = [n["column"] for n in layout.numeric]
    ncol = layout.num_columns

    truncated_code = REASONS.index("truncated_last_line") + 1

    def validate(matrix: Any, ncols: Any, bad_utf8: Any, empty: Any, truncated: Optional[Any] = None) -> Parsed:
        n = tf.shape(matrix)[0]
        reason = tf.zeros([n], tf.int32)

        def mark(reason: Any, cond: Any, code: int) -> Any:
            return tf.where(tf.logical_and(tf.equal(reason, 0), cond), code, reason)

        reason = mark(reason, empty, 1)
        if truncated is not None:
            reason = mark(reason, truncated, truncated_code)
        reason = mark(reason, bad_utf8, 2)
        reason = mark(reason, tf.not_equal(ncols, ncol), 3)
        if layout.label is not None:  # (rows to score may come without one)
            label = matrix[:, layout.label]
            reason = mark(reason, tf.equal(label, ""), 4)
            ok_label = tf.reduce_any(tf.equal(label[:, None], tf.constant(LABEL_VALUES)[None, :]), axis=1)
            reason = mark(reason, tf.logical_not(ok_label), 5)
        if int_cols:
            ints = tf.gather(matrix, int_cols, axis=1)
            ok = tf.strings.regex_full_match(ints, f"({INTEGER_PATTERN})?")
            reason = mark(reason, tf.logical_not(tf.reduce_all(ok, axis=1)), 6)
        if num_cols:
            nums = tf.gather(matrix, num_cols, axis=1)
            ok = tf.strings.regex_full_match(nums, NUMBER_PATTERN)
            # A number beyond float32 (1e39, 1e400) is written as +-inf: not a number either.
            value = tf.strings.to_number(tf.where(tf.logical_and(ok, tf.not_equal(nums, "")), nums, "0"), tf.float32)
            ok = tf.logical_and(ok, tf.math.is_finite(value))
            reason = mark(reason, tf.logical_not(tf.reduce_all(ok, axis=1)), 7)
        good = tf.equal(reason, 0)
        rows = tf.cond(tf.reduce_all(good), lambda: matrix, lambda: tf.boolean_mask(matrix, good))
        if layout.label is not None:
            labels = tf.strings.to_number(tf.gather(rows, layout.label, axis=1), tf.float32)
        else:
            labels = tf.zeros([tf.shape(rows)[0]], tf.float32)
        if num_cols:
            nums = tf.gather(rows, num_cols, axis=1)
            dense = tf.strings.to_number(tf.where(tf.equal(nums, ""), "0", nums), tf.float32)
        else:
            dense = tf.zeros([tf.shape(rows)[0], 0], tf.float32)
        return reason, rows, labels, dense

    def parse_text(data: Any, bad_utf8: Any, unterminated: Any) -> Parsed:
        lines = tf.strings.split(data, "\n")
        cells = tf.strings.split(lines, layout.delimiter)
        ncols = tf.cast(cells.row_lengths(), tf.int32)
        matrix = tf.cond(
            tf.reduce_all(tf.equal(ncols, ncol)),
            lambda: tf.reshape(cells.flat_values, [-1, ncol]),
            lambda: cells.to_tensor("", shape=[None, ncol]),
        )
        n = tf.shape(lines)[0]
        # A last line without its newline may be cut anywhere, even inside its last field
        # (c97d7481 -> c97d748 still parses): reject it unless told the files end that way.
        truncated = tf.logical_and(tf.logical_and(unterminated, not accept_unterminated), tf.equal(tf.range(n), n - 1))
        return validate(matrix, ncols, bad_utf8, tf.equal(lines, ""), truncated)

    def parse_matrix(matrix: Any, bad_utf8: Any = None) -> Parsed:
        n = tf.shape(matrix)[0]
        bad = tf.zeros([n], tf.bool) if bad_utf8 is None else bad_utf8
        return validate(matrix, tf.fill([n], ncol), bad, tf.zeros([n], tf.bool))

    return parse_text, parse_matrix


def make_tf_parse(layout: Layout, accept_unterminated: bool) -> Callable[[Chunk], Tuple[Any, Any, Any]]:
    """The TF parser (`make_parser`) as chunk -> (reason, accepted rows (a tensor), dense) for
    `arrow_parse.first_pass_chunk`: it decides every line of a chunk that is not wholly valid."""
    import tensorflow as tf

    parse_text, parse_matrix = make_parser(layout, accept_unterminated)

    def without_labels(parsed: Tuple[Any, ...]) -> Tuple[Any, ...]:  # (labels: `arrow_parse.count_table`)
        reason, rows, _, dense = parsed
        return reason, rows, dense

    text_fn = tf.function(
        lambda data, bad, unterminated: without_labels(parse_text(data, bad, unterminated)),
        input_signature=[tf.TensorSpec([], tf.string), tf.TensorSpec([None], tf.bool), tf.TensorSpec([], tf.bool)],
        autograph=False,
    )
    matrix_fn = tf.function(
        lambda matrix, bad: without_labels(parse_matrix(matrix, bad)),
        input_signature=[tf.TensorSpec([None, layout.num_columns], tf.string), tf.TensorSpec([None], tf.bool)],
        autograph=False,
    )

    def tf_parse(chunk: Chunk) -> Tuple[Any, Any, Any]:
        bad = chunk.bad_utf8 if chunk.bad_utf8 is not None else np.zeros(chunk.num_lines, bool)
        if chunk.data is not None:
            reason, rows, dense = text_fn(chunk.data, bad, chunk.unterminated)
        else:
            matrix = (
                np.stack(chunk.columns, axis=1)
                if chunk.num_lines and chunk.columns
                else np.zeros((0, layout.num_columns), object)
            )
            reason, rows, dense = matrix_fn(matrix, bad)
        return reason.numpy(), rows, dense.numpy()

    return tf_parse
