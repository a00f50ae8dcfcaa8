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
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"Key: I1.*Data types don't match.*expected type: string"):
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
