"""The single raw -> id transform (DESIGN.md), in TF ops, and its integer reference.

Raw values are strings as they appear in the source (the empty string = missing). Per field:

- `source: "string"` (categorical): the raw string is the token.
- `source: "integer"` with `transform: "log_square_bucket"` (Criteo I1..I13, the paper's
  preprocessing): missing -> the missing token (empty string); v > 2 -> floor(ln(v)^2); every
  other v (2, 1, 0 and negatives) -> v - 2. The two branches never collide (v > 2 gives >= 1,
  v <= 2 gives <= 0), so negative values keep distinct tokens. floor(ln(v)^2) is computed from
  exact integer thresholds t_k = min{v integer : floor(ln(v)^2) >= k} = ceil(exp(sqrt(k))),
  found with 60-digit decimal arithmetic (exp(sqrt(k)) is transcendental for k >= 1, so the
  ceiling is exact); the bucket of v is the number of thresholds <= v. The token of a bucket
  is its decimal string.

The token then goes through the field's vocabulary: kept tokens take ids 1.. in vocabulary
order, everything else (unseen, rare, or an unparsable integer) takes id 0, the OOV id.
"""

import decimal
import functools
from typing import Dict, List, Sequence

import numpy as np

LOG_SQUARE_BUCKET = "log_square_bucket"
MISSING_INT = np.iinfo(np.int64).min  # the missing integer token inside the int64 tables
INTEGER_PATTERN = "-?[0-9]{1,18}"  # what integer fields accept (int64-safe); "" is missing


@functools.lru_cache(maxsize=None)
def log_square_thresholds(max_value: int = np.iinfo(np.int64).max) -> np.ndarray:
    """t_1, t_2, ...: t_k = the smallest integer v with floor(ln(v)^2) >= k, all <= max_value."""
    ctx = decimal.Context(prec=60)
    out, k = [], 1
    while True:
        t = int(ctx.exp(ctx.sqrt(decimal.Decimal(k))).to_integral_value(rounding=decimal.ROUND_CEILING))
        if t > max_value:
            break
        out.append(t)
        k += 1
    return np.asarray(out, dtype=np.int64)


def log_square_bucket_reference(values) -> np.ndarray:
    """Numpy/integer reference: v > 2 -> floor(ln(v)^2) via the thresholds, else v - 2."""
    v = np.asarray(values, dtype=np.int64)
    bucket = np.searchsorted(log_square_thresholds(), v, side="right").astype(np.int64)
    return np.where(v > 2, bucket, v - 2)


def log_square_bucket(values):
    """TF op: int64 values of any shape -> their log-square buckets (int64)."""
    import tensorflow as tf

    values = tf.convert_to_tensor(values, tf.int64)
    thresholds = tf.constant(log_square_thresholds(), tf.int64)
    flat = tf.reshape(values, [-1])
    bucket = tf.searchsorted(thresholds, flat, side="right", out_type=tf.int64)
    bucket = tf.where(flat > 2, bucket, flat - 2)
    return tf.reshape(bucket, tf.shape(values))


def integer_tokens_to_keys(tokens: Sequence[bytes]) -> np.ndarray:
    """Vocabulary tokens of an integer field (decimal strings, b'' = missing) -> int64 keys."""
    return np.asarray([MISSING_INT if t == b"" else int(t) for t in tokens], dtype=np.int64)


def integer_token(bucket: int) -> bytes:
    return b"" if bucket == MISSING_INT else str(int(bucket)).encode()


class RawToIds:
    """Raw string values -> (batch, num_fields) int64 ids, one lookup table per field.

    Build it with `RawToIds.from_spec(spec)` or from field dicts and their vocabularies
    (lists of bytes tokens in id order). Call it with a (batch, num_fields) string tensor in
    field order or a dict name -> (batch,) string tensor. `assume_valid=True` skips the
    integer syntax check (the converter has validated rows already); otherwise unparsable
    integers map to the OOV id 0.
    """

    def __init__(self, fields: List[Dict], vocabularies: List[Sequence[bytes]]):
        import tensorflow as tf

        if len(fields) != len(vocabularies):
            raise ValueError("one vocabulary per field is needed")
        self.fields = [dict(f) for f in fields]
        self.names = [f["name"] for f in fields]
        self.tables = []
        for field, vocab in zip(self.fields, vocabularies):
            vocab = list(vocab)
            if int(field.get("vocab_size", len(vocab) + 1)) != len(vocab) + 1:
                raise ValueError(f"field {field['name']!r}: vocab_size {field['vocab_size']} but "
                                 f"{len(vocab)} vocabulary tokens (+1 OOV)")
            values = tf.range(1, len(vocab) + 1, dtype=tf.int64)
            if self.is_integer(field):
                keys = tf.constant(integer_tokens_to_keys(vocab), tf.int64)
            else:
                keys = tf.constant(np.asarray(vocab, dtype=object), tf.string)
            if len(vocab) == 0:  # TF tables need at least a key: one that cannot occur
                keys = tf.constant([MISSING_INT + 1] if self.is_integer(field) else [b"\x00<none>"])
                values = tf.constant([0], tf.int64)
            self.tables.append(tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(keys, values), default_value=tf.constant(0, tf.int64)))

    @staticmethod
    def is_integer(field: Dict) -> bool:
        if field.get("source") == "integer":
            transform = field.get("transform", LOG_SQUARE_BUCKET)
            if transform != LOG_SQUARE_BUCKET:
                raise ValueError(f"field {field['name']!r}: unknown transform {transform!r}")
            return True
        return False

    @classmethod
    def from_spec(cls, spec) -> "RawToIds":
        return cls(spec.fields, [spec.vocabulary(f["name"]) for f in spec.fields])

    def integer_keys(self, raw, assume_valid: bool = False):
        """Raw integer strings -> int64 table keys (bucket, MISSING_INT, or an unmatched key)."""
        import tensorflow as tf

        missing = tf.equal(raw, "")
        if assume_valid:
            ok = tf.logical_not(missing)
        else:
            ok = tf.strings.regex_full_match(raw, INTEGER_PATTERN)
        number = tf.strings.to_number(tf.where(ok, raw, "0"), tf.int64)
        bucket = log_square_bucket(number)
        invalid_key = tf.constant(MISSING_INT + 1, tf.int64)  # no token maps here: OOV
        return tf.where(missing, tf.constant(MISSING_INT, tf.int64), tf.where(ok, bucket, invalid_key))

    def __call__(self, raw, assume_valid: bool = False):
        import tensorflow as tf

        if isinstance(raw, dict):
            columns = [tf.convert_to_tensor(raw[name], tf.string) for name in self.names]
        else:
            raw = tf.convert_to_tensor(raw, tf.string)
            columns = [raw[:, i] for i in range(len(self.names))]
        return tf.stack(self.per_field(columns, assume_valid), axis=-1)

    def per_field(self, columns, assume_valid: bool = False):
        """One raw string tensor per field (any shapes) -> one int64 id tensor per field."""
        ids = []
        for field, table, column in zip(self.fields, self.tables, columns):
            key = self.integer_keys(column, assume_valid) if self.is_integer(field) else column
            ids.append(table.lookup(key))
        return ids

    def tokens(self, raw, assume_valid: bool = True):
        """Per field, the token each raw value becomes (int64 keys for integer fields,
        strings otherwise): what the converter counts to build vocabularies."""
        import tensorflow as tf

        raw = tf.convert_to_tensor(raw, tf.string)
        return [self.integer_keys(raw[:, i], assume_valid) if self.is_integer(f) else raw[:, i]
                for i, f in enumerate(self.fields)]


def field_tokens(fields: List[Dict], raw, assume_valid: bool = True):
    """Tokens of a (batch, num_fields) raw string tensor without any vocabulary (pass 1)."""
    import tensorflow as tf

    out = []
    for i, field in enumerate(fields):
        column = raw[:, i]
        if RawToIds.is_integer(field):
            missing = tf.equal(column, "")
            ok = tf.logical_not(missing) if assume_valid else tf.strings.regex_full_match(column, INTEGER_PATTERN)
            number = tf.strings.to_number(tf.where(ok, column, "0"), tf.int64)
            out.append(tf.where(missing, tf.constant(MISSING_INT, tf.int64), log_square_bucket(number)))
        else:
            out.append(column)
    return out
