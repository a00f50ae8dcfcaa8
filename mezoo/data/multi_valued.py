"""Multi-valued categorical fields: a cell of several tokens (`Comedy|Drama`, a user's last items).

A spec field of kind `multi_valued` (docs/formats.md, format_version 2) has a `separator`, a
`max_len`, a `truncate` rule and a `pooling`. Its raw cell becomes tokens by one rule, written
once here and used by the converters, `mezoo.predict` and the SavedModel export alike:

- the cell is split on `separator`; empty tokens (`a||b`, a trailing `|`) are dropped;
- a cell with no token (the empty cell) is the field's missing token `b""`, as for a
  single-valued field;
- more than `max_len` tokens are truncated: `truncate: first` keeps the first `max_len` (a set
  such as genres), `last` the last `max_len` (a history, oldest first);
- repeated tokens stay (a history may hold an item twice).

A model sees a multi-valued field as `max_len` consecutive id columns of its `ids` input, the
unused ones holding `PADDING_ID` (-1). In TFRecords the same columns hold `id + 1`, 0 for no
value, so that padding costs one byte (`parse_examples` subtracts the 1).
"""

from typing import Any, Dict, List, Sequence

from mezoo.fields import CATEGORICAL_KINDS, MULTI_VALUED, PADDING_ID, POOLINGS, Field

TRUNCATIONS = ("first", "last")
DEFAULTS = {"separator": "|", "pooling": POOLINGS[0], "truncate": "first"}
__all__ = ["PADDING_ID", "POOLINGS", "MULTI_VALUED", "CATEGORICAL_KINDS"]  # mezoo.fields', the field contract
# The most values a field may keep per row. A model embeds every kept value in every embedding set:
# at the paper's batch of 2,048 rows this is 20 M values per set (0.8 GB at d=10, before gradients),
# 100 times the histories CTR models pool (tens to a few hundred). Every row holds max_len id columns
# in the converters and in the shards, so beyond this a typo (an extra zero or three) would make a
# converter allocate rows x max_len x 8 bytes and die far from its cause.
MAX_LEN_LIMIT = 10_000


def is_multi_valued(field: Dict[str, Any]) -> bool:
    return field.get("kind") == MULTI_VALUED


def field_length(field: Dict[str, Any]) -> int:
    """Id columns the field takes: `max_len` for a multi-valued field, else 1."""
    return int(field["max_len"]) if is_multi_valued(field) else 1


def id_columns(fields: Sequence[Dict[str, Any]]) -> List[int]:
    """Id columns of each spec field (`field_length`)."""
    return [field_length(f) for f in fields]


def check_field(field: Dict[str, Any], where: str) -> None:
    """Raises ValueError naming `where` and the key when a multi-valued field's settings are wrong."""
    name = field.get("name")
    max_len = field.get("max_len")
    if isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1:
        raise ValueError(f"{where}: multi-valued field {name!r} needs max_len, an integer >= 1 (got {max_len!r})")
    if max_len > MAX_LEN_LIMIT:
        raise ValueError(
            f"{where}: multi-valued field {name!r}: max_len {max_len:,} is over the limit of {MAX_LEN_LIMIT:,} "
            "values a row may keep (every row holds max_len ids): choose max_len from most_values in the "
            "conversion's summary.json"
        )
    separator = field.get("separator", DEFAULTS["separator"])
    if not isinstance(separator, str) or not separator or "\n" in separator or "\r" in separator:
        raise ValueError(f"{where}: field {name!r}: separator must be a non-empty string without line breaks")
    for key, allowed in (("pooling", POOLINGS), ("truncate", TRUNCATIONS)):
        value = field.get(key, DEFAULTS[key])
        if value not in allowed:
            raise ValueError(f"{where}: field {name!r}: {key} {value!r} is not one of {', '.join(allowed)}")
    if field.get("source", "string") != "string":
        raise ValueError(f"{where}: multi-valued field {name!r} must be a string (categorical) column")


def model_field(field: Dict[str, Any]) -> Field:
    """A spec field as a zoo model takes it (`mezoo.fields.Field`): `(name, vocab_size)`, or `(name,
    vocab_size, max_len, pooling)` for a multi-valued field."""
    return Field.from_spec(field)


def with_defaults(field: Dict[str, Any]) -> Dict[str, Any]:
    """The field with `separator`, `pooling` and `truncate` filled in where it does not give them."""
    return {**field, **{k: field.get(k, v) for k, v in DEFAULTS.items()}}


def cell_tokens(cells: Any, field: Dict[str, Any]) -> Any:
    """TF: raw cells `(n,)` -> `(all tokens, kept tokens)`, two `(n, None)` RaggedTensors."""
    import tensorflow as tf

    field = with_defaults(field)
    cells = tf.convert_to_tensor(cells, tf.string)
    parts = tf.strings.split(cells, field["separator"])
    tokens = tf.ragged.boolean_mask(parts, tf.not_equal(parts, ""))
    empty = tf.equal(tokens.row_lengths(), 0)
    missing = tf.ragged.boolean_mask(tf.fill(tf.stack([tf.size(cells), 1]), ""), empty[:, None])
    tokens = tf.concat([tokens, missing], axis=1)
    max_len = int(field["max_len"])
    kept = tokens[:, :max_len] if field["truncate"] == "first" else tokens[:, -max_len:]
    return tokens, kept


# TFRecords store a multi-valued field's ids as id + STORED_OFFSET, so that no value (PADDING_ID) is 0
STORED_OFFSET = -PADDING_ID


def stored_ids(ids: Any) -> Any:
    """A multi-valued field's ids (numpy or TF) as TFRecords store them: id + 1, 0 for no value."""
    return ids + STORED_OFFSET


def stored_shift(fields: Sequence[Dict[str, Any]]) -> List[int]:
    """Per id column of the fields: what `parse_examples` subtracts to read ids back (`STORED_OFFSET` where
    the column belongs to a multi-valued field, else 0)."""
    return [STORED_OFFSET * is_multi_valued(f) for f in fields for _ in range(field_length(f))]
