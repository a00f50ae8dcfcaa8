"""Raw rows as the `tf.train.Example`s a serving client sends (no TensorFlow ops needed).

A raw row is a dict field name -> raw value as it appears in the source data: the text of a
categorical or integer field (`"5"`, `"68fd1e64"`), a float for a numeric field; a multi-valued
field's value may also be a list of values (several `bytes_list` values). A value that is
None or absent is left out of the Example, which the export reads as missing (the empty token),
exactly as an empty cell was read in training.
"""

from typing import Dict, List, Optional

from mezoo.data.feature_spec import FeatureSpec
from mezoo.data.transform import MISSING_INT, RawToIds, integer_tokens_to_keys, log_square_thresholds


def raw_example(row: Dict[str, object], spec: FeatureSpec):
    """One raw row -> a `tf.train.Example` (bytes_list per field, float_list per numeric field)."""
    import tensorflow as tf

    feature = {}
    for name in spec.field_names:
        value = row.get(name)
        if value is None:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]  # a multi-valued field's values
        data = [v if isinstance(v, bytes) else str(v).encode("utf-8") for v in values]
        feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=data))
    for name in spec.numeric_names:
        value = row.get(name)
        if value is None or value == "":
            continue
        feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=[float(str(value))]))
    unknown = sorted(set(row) - set(spec.field_names) - set(spec.numeric_names) - {spec.label})
    if unknown:
        raise ValueError(f"raw row has features the model does not know: {unknown[:10]}")
    return tf.train.Example(features=tf.train.Features(feature=feature))


def serialize_rows(rows: List[Dict[str, object]], spec: FeatureSpec) -> List[bytes]:
    return [raw_example(row, spec).SerializeToString() for row in rows]


def raw_value_of_token(field: Dict, token: bytes) -> Optional[str]:
    """A raw value that the transform maps to `token` (None: the missing token, i.e. absent)."""
    if token == b"":
        return None
    if not RawToIds.is_integer(field):
        return token.decode("utf-8", "replace")
    bucket = int(integer_tokens_to_keys([token])[0])
    if bucket == MISSING_INT:
        return None
    if bucket <= 0:  # v <= 2 -> v - 2
        return str(bucket + 2)
    return str(int(log_square_thresholds()[bucket - 1]))  # the smallest v with floor(ln(v)^2) == bucket


def warmup_rows_from_vocabularies(spec: FeatureSpec, count: int = 8) -> List[Dict[str, object]]:
    """`count` raw rows whose values are the fields' most frequent ones (row k: each field's k-th),
    and a last row with every feature absent: requests that touch every code path."""
    vocabularies = {f["name"]: spec.vocabulary(f["name"]) for f in spec.fields}
    rows: List[Dict[str, object]] = []
    for k in range(count):
        row: Dict[str, object] = {}
        for field in spec.fields:
            vocab = vocabularies[field["name"]]
            if vocab:
                row[field["name"]] = raw_value_of_token(field, vocab[k % len(vocab)])
        for i, name in enumerate(spec.numeric_names):
            row[name] = float(k + i) / max(count, 1)
        rows.append(row)
    rows.append({})
    return rows
