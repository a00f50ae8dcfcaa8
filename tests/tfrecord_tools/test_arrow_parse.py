"""The Arrow first pass (`tfrecord_tools.convert.arrow_parse`) gives what the TF parser and counter give."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.data.raw.parser import make_parser, make_tf_parse  # noqa: E402
from mezoo.data.raw.reader import Chunk  # noqa: E402
from mezoo.data.raw.rules import LABEL_VALUES  # noqa: E402
from tfrecord_tools.convert import arrow_parse  # noqa: E402
from tfrecord_tools.convert.counting import make_count_fn, token_keys  # noqa: E402
from tfrecord_tools.formats import criteo_layout  # noqa: E402


def criteo_lines(rows: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(rows):
        ints = [str(v) if v >= 0 else "" for v in rng.integers(-3, 40, 13)]
        cats = [f"{v:08x}" if v % 7 else "" for v in rng.integers(0, 30, 26)]
        lines.append("\t".join([str(rng.integers(0, 2))] + ints + cats).encode())
    return lines


def first_pass(lines, unterminated=False, accept=False):
    layout = criteo_layout()
    data = b"\n".join(lines)
    chunk = Chunk(0, 1, data=data, num_lines=len(lines), unterminated=unterminated)
    fields = [dict(f) for f in layout.fields]
    return arrow_parse.first_pass_chunk(chunk, fields, layout, LABEL_VALUES, make_tf_parse(layout, accept), accept)


def tf_pass(lines, unterminated=False, accept=False):
    layout = criteo_layout()
    parse_text, _ = make_parser(layout, accept)
    count = make_count_fn([dict(f) for f in layout.fields])
    bad = np.zeros(len(lines), bool)
    return [t.numpy() for t in count(*parse_text(b"\n".join(lines), bad, unterminated))]


BAD_LINES = [
    b"",  # empty_line
    b"1\t2",  # wrong_column_count
    b"\t" + b"\t".join([b"1"] * 13 + [b"a"] * 26),  # missing_label
    b"2\t" + b"\t".join([b"1"] * 13 + [b"a"] * 26),  # bad_label
    b"1\t3.5\t" + b"\t".join([b"1"] * 12 + [b"a"] * 26),  # bad_integer
    b"0\t" + b"\t".join([b"1"] * 13 + [b"a\rb"] + [b"a"] * 25),  # valid, with a CR (pyarrow would end the line)
    b"\xef\xbb\xbf0\t" + b"\t".join([b"1"] * 13 + [b"a"] * 26),  # a BOM inside the file: bad_label
]


@pytest.mark.parametrize("bad", ["none", "no_cr", "all"])  # Arrow only; TF + Arrow re-read; TF + rows
@pytest.mark.parametrize("unterminated", [False, True])
def test_same_reasons_values_indices_and_counts_as_tf(bad, unterminated):
    lines = criteo_lines(300)
    for i, line in enumerate({"none": [], "no_cr": BAD_LINES[:5] + BAD_LINES[6:], "all": BAD_LINES}[bad]):
        lines.insert(17 * i + 3, line)
    ours = first_pass(lines, unterminated)
    res = tf_pass(lines, unterminated)
    reason, labels, _, index, distinct = res[:5]
    np.testing.assert_array_equal(ours.reason, reason)
    assert (ours.reason != 0).any() == (bad != "none" or unterminated)
    np.testing.assert_array_equal(ours.labels, labels.astype(np.uint8))
    np.testing.assert_array_equal(ours.index, index)
    values = tf.io.parse_tensor(distinct, tf.string).numpy()
    layout = criteo_layout()
    for i, field in enumerate(layout.fields):
        assert ours.values[i].to_pylist() == list(tf.io.parse_tensor(values[i], tf.string).numpy())
        integer = field.get("source") == "integer"
        keys = token_keys(integer, res[5 + 3 * i], res[6 + 3 * i])
        if integer:
            np.testing.assert_array_equal(ours.keys[i], keys)
        else:
            assert ours.keys[i].to_pylist() == keys.to_pylist()
        np.testing.assert_array_equal(ours.counts[i], res[7 + 3 * i])
