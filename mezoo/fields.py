"""A categorical field as models and layers see it: its name, vocabulary size, id columns and pooling.

The one description of a field that travels from a feature spec (`FeatureSpec.model_fields`,
`mezoo.data.multi_valued.model_field`) through the models (`CTRModel.fields`) and their layers
(`MultiEmbedding`'s `field_lengths` and `poolings`) to the export. A `Field` is a tuple, as model
configs have always stored fields: `(name, vocab_size)` for a single-valued field, `(name,
vocab_size, max_len, pooling)` for a multi-valued one, whose `max_len` columns of the `ids`
input hold its values' ids, `PADDING_ID` where a row has fewer, pooled per embedding set.

Example:
>>> genres = Field.of(["genres", 20, 3])
>>> genres, genres.max_len, genres.pooling, Field("user", 100).max_len
(('genres', 20, 3, 'mean'), 3, 'mean', 1)
>>> field_lengths([Field("user", 100), genres])
[1, 3]
"""

from typing import Any, Dict, List, Sequence

POOLINGS = ("mean", "sum", "sqrtn")
PADDING_ID = -1  # an unused id column of a multi-valued field
MULTI_VALUED = "multi_valued"  # a feature spec field's kind (docs/formats.md), beside "categorical"
CATEGORICAL_KINDS = ("categorical", MULTI_VALUED)


class Field(tuple):
    """`(name, vocab_size)`, or `(name, vocab_size, max_len, pooling)` for a multi-valued field.

    `Field(name, vocab_size, max_len=None, pooling=None)`, or `Field(entry)` of such a tuple.

    Args:
        name: the field's name.
        vocab_size: its ids are 0 .. vocab_size - 1 (0: out of vocabulary).
        max_len: id columns of a multi-valued field (None: single-valued, one column). With 1 it
            is embedded as a single-valued field (the data always gives it one id).
        pooling: how a multi-valued field's values are pooled: `mean` (default), `sum`, `sqrtn`.
    """

    def __new__(cls, *args: Any):
        # Field(name, vocab_size[, max_len[, pooling]]), or Field(entry) as `tuple(entry)` works (Keras'
        # attribute tracking rebuilds a tuple's class from its items).
        if len(args) == 1 and not isinstance(args[0], str):
            args = tuple(args[0])
        if len(args) not in (2, 3, 4):
            raise ValueError(
                f"a field is (name, vocab_size) or (name, vocab_size, max_len, pooling); got {list(args)!r}"
            )
        name, vocab_size = str(args[0]), int(args[1])
        if len(args) == 2:
            return super().__new__(cls, (name, vocab_size))
        max_len, pooling = args[2], (args[3] if len(args) == 4 else None) or POOLINGS[0]
        if isinstance(max_len, bool) or int(max_len) < 1:
            raise ValueError(f"field {name!r}: max_len must be an integer >= 1, got {max_len!r}")
        if pooling not in POOLINGS:
            raise ValueError(f"field {name!r}: unknown pooling {pooling!r}: expected one of {', '.join(POOLINGS)}")
        return super().__new__(cls, (name, vocab_size, int(max_len), str(pooling)))

    @classmethod
    def of(cls, entry: Any) -> "Field":
        """A field from a tuple or list of 2 to 4 items (how configs store it), or a Field."""
        return entry if isinstance(entry, Field) else cls(entry)

    @classmethod
    def from_spec(cls, field: Dict[str, Any]) -> "Field":
        """A feature spec's field (a dict: name, kind, vocab_size, max_len, pooling)."""
        name, size = str(field["name"]), int(field["vocab_size"])
        if field.get("kind") == MULTI_VALUED:
            return cls(name, size, int(field["max_len"]), str(field.get("pooling") or POOLINGS[0]))
        return cls(name, size)

    @property
    def name(self) -> str:
        return str(self[0])

    @property
    def vocab_size(self) -> int:
        return int(self[1])

    @property
    def max_len(self) -> int:
        """Columns of the `ids` input the field takes."""
        return int(self[2]) if len(self) > 2 else 1

    @property
    def pooling(self) -> str:
        return str(self[3]) if len(self) > 3 else POOLINGS[0]


def field_lengths(fields: Sequence[Field]) -> List[int]:
    """Columns of the `ids` input each field takes: 1, or a multi-valued field's `max_len`."""
    return [Field.of(f).max_len for f in fields]


def field_poolings(fields: Sequence[Field]) -> List[str]:
    """Each field's pooling (`"mean"` for single-valued fields, where it is unused)."""
    return [Field.of(f).pooling for f in fields]
