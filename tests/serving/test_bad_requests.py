"""Requests a client gets wrong: unseen, absent and unparsable values take the training paths;
a wrong dtype or an undecodable Example fails with a clear error, and the model keeps answering."""

import re

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytestmark = pytest.mark.tensorflow

from mezoo.data import FeatureSpec  # noqa: E402
from mezoo.data.transform import RawToIds, log_square_bucket_reference  # noqa: E402
from mezoo.serving.raw_examples import serialize_rows  # noqa: E402
from tests.serving.conftest import raw_rows  # noqa: E402


def expected_id(spec, field, value):
    """The id training gave a raw value, from the vocabulary files (numpy, not the TF transform)."""
    vocab = spec.vocabulary(field["name"])
    if value is None or value == "":
        token = b""
    elif RawToIds.is_integer(field):
        if not re.fullmatch(r"-?[0-9]{1,18}", value):  # the converter's integer syntax (Python's int() is laxer)
            return 0  # unparsable: OOV
        token = str(int(log_square_bucket_reference([int(value)])[0])).encode()
    else:
        token = value.encode()
    return vocab.index(token) + 1 if token in vocab else 0


@pytest.fixture(scope="module")
def served(exported):
    export = exported("criteo", "se")
    loaded = tf.saved_model.load(str(export))
    return (
        FeatureSpec.load(str(export / "assets.extra")),
        loaded.signatures["serving_default"],
        loaded.signatures["predict_ids"],
    )


def test_unseen_absent_and_unparsable_values(served):
    spec, serve, predict_ids = served
    base = {k: (v or None) for k, v in raw_rows("criteo")[0].items() if k != "label"}
    variants = [
        dict(base),
        dict(base, C1="never-seen-value", C2="", I3="99999999999"),  # unseen string, empty, unseen bucket
        {k: v for k, v in base.items() if not k.startswith("C")},  # absent features
        dict(base, I1="3.5", I2="abc", I4="1e3", I5=" 7"),  # unparsable integers
        {},  # nothing at all
    ]
    ids = np.asarray([[expected_id(spec, f, row.get(f["name"])) for f in spec.fields] for row in variants])
    assert ids[3, 0] == ids[3, 1] == ids[3, 3] == ids[3, 4] == 0 and ids[1, 13] == 0
    assert ids[4].tolist() == [expected_id(spec, f, None) for f in spec.fields]
    got = serve(examples=tf.constant(serialize_rows(variants, spec)))["probability"].numpy()
    want = predict_ids(ids=tf.constant(ids, tf.int64))["probability"].numpy()
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert len(np.unique(np.round(got, 6))) == len(variants)  # the variants really differ


def test_wrong_dtype_and_undecodable_examples_are_refused_and_serving_goes_on(served):
    spec, serve, _ = served
    good = serialize_rows([{"I1": "5", "C1": "x"}], spec)
    before = serve(examples=tf.constant(good))["probability"].numpy()
    as_int = tf.train.Example(
        features=tf.train.Features(feature={"I1": tf.train.Feature(int64_list=tf.train.Int64List(value=[5]))})
    ).SerializeToString()
    wrong_type = r"(?i)Key: I1.*Data types don.t match.*expected type: string"
    with pytest.raises(tf.errors.InvalidArgumentError, match=wrong_type):
        serve(examples=tf.constant(good + [as_int]))
    two_values = tf.train.Example(
        features=tf.train.Features(feature={"C1": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"a", b"b"]))})
    ).SerializeToString()
    with pytest.raises(tf.errors.InvalidArgumentError, match="C1"):
        serve(examples=tf.constant([two_values]))
    for garbage in (b"\x01\x02garbage", b"\xff\xff\xff", good[0][:-1]):
        with pytest.raises(tf.errors.OpError, match="examples_must_be_serialized_tf_Example_protos"):
            serve(examples=tf.constant([garbage]))
    np.testing.assert_array_equal(serve(examples=tf.constant(good))["probability"].numpy(), before)


def assert_refused(call, message):
    with pytest.raises(tf.errors.OpError) as error:
        call()
    assert message in str(error.value), str(error.value)[-2000:]


def test_ids_outside_their_fields_range_are_refused_for_every_field(served):
    spec, _, predict_ids = served
    sizes = spec.vocab_sizes
    ok = np.ones((2, len(sizes)), np.int64)
    base = predict_ids(ids=tf.constant(ok))["probability"].numpy()
    for field in (0, 7, len(sizes) - 1):
        for value in (sizes[field], -1, 2**32 + 1):
            bad = ok.copy()
            bad[1, field] = value
            assert_refused(
                lambda bad=bad: predict_ids(ids=tf.constant(bad)),
                f"out of range in fields] [{spec.field_names[field]}] [whose vocab_size is] [{sizes[field]}]",
            )
    last = ok.copy()
    last[:, -1] = sizes[-1] - 1  # the largest id of the last field is in range
    assert predict_ids(ids=tf.constant(last))["probability"].shape == (2, 1)
    np.testing.assert_array_equal(predict_ids(ids=tf.constant(ok))["probability"].numpy(), base)


def test_requests_of_the_wrong_width_are_refused_by_the_graph(exported):
    """Through tf.saved_model.load (what TF Serving runs): a (batch, 40) request to 39 fields is an error."""
    export = exported("criteo", "se")
    loaded = tf.saved_model.load(str(export))
    raw, ids = loaded.signatures["predict_raw"], loaded.signatures["predict_ids"]
    assert_refused(lambda: raw(raw=tf.constant([["1"] * 40])), "raw must have 39 columns")
    assert_refused(lambda: raw(raw=tf.constant([["1"] * 38])), "raw must have 39 columns")
    assert_refused(lambda: ids(ids=tf.constant([[1] * 40], tf.int64)), "ids must have 39 columns")
    assert raw(raw=tf.constant([["1"] * 39]))["probability"].shape == (1, 1)


def test_empty_batches_and_empty_lists_mean_missing_and_unknown_names_are_refused(served):
    spec, serve, predict_ids = served

    def example(features):
        return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()

    def values(*items):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=list(items)))

    for signature, request in ((serve, {"examples": tf.constant([], tf.string)}),):
        assert signature(**request)["probability"].shape == (0, 1)
    assert predict_ids(ids=tf.zeros([0, spec.num_fields], tf.int64))["probability"].shape == (0, 1)
    absent = example({"I1": values(b"5")})
    empty = example({"I1": values(b"5"), "C1": values(), "I2": values()})
    got = serve(examples=tf.constant([absent, empty, b""]))["probability"].numpy()
    assert got[0] == got[1]  # an empty bytes_list is a missing value, as an absent feature is
    labelled = example({"I1": values(b"5"), spec.label: tf.train.Feature(float_list=tf.train.FloatList(value=[1.0]))})
    # The same batch shape as `got`: a batch of one may take another kernel and differ in the last bit.
    with_label = serve(examples=tf.constant([labelled, empty, b""]))["probability"].numpy()
    assert with_label[0] == got[0]  # the label is ignored
    assert_refused(
        lambda: serve(examples=tf.constant([absent, example({"I1": values(b"5"), "C01": values(b"x")})])),
        "the Examples name features the model does not know (a typo?):] [C01]",
    )
