"""The single raw -> id transform, in TF ops, and its integer reference.

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

A multi-valued field's cell becomes tokens by `mezoo.data.multi_valued.cell_tokens` (split,
missing, truncation) and each token goes through the field's vocabulary the same way; its ids
take `max_len` columns, `PADDING_ID` (-1) where the cell has fewer tokens.
"""

import decimal
import functools
import json
import os
import re
import shutil
import tempfile
import weakref
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt
import tensorflow as tf

from mezoo.atomic import atomic_write
from mezoo.data.feature_spec import FeatureSpec
from mezoo.data.multi_valued import PADDING_ID, cell_tokens, field_length, is_multi_valued
from mezoo.data.raw.rules import INTEGER_PATTERN

LOG_SQUARE_BUCKET = "log_square_bucket"
MISSING_INT = np.iinfo(np.int64).min  # the missing integer token inside the int64 tables


@functools.lru_cache(maxsize=None)
def log_square_thresholds(max_value: int = np.iinfo(np.int64).max) -> npt.NDArray[np.int64]:
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


def log_square_bucket_reference(values: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Numpy/integer reference: v > 2 -> floor(ln(v)^2) via the thresholds, else v - 2."""
    v = np.asarray(values, dtype=np.int64)
    bucket = np.searchsorted(log_square_thresholds(), v, side="right").astype(np.int64)
    return np.where(v > 2, bucket, v - 2)


def log_square_bucket(values: Any) -> tf.Tensor:
    """TF op: int64 values of any shape -> their log-square buckets (int64)."""

    values = tf.convert_to_tensor(values, tf.int64)
    thresholds = tf.constant(log_square_thresholds(), tf.int64)
    flat = tf.reshape(values, [-1])
    bucket = tf.searchsorted(thresholds, flat, side="right", out_type=tf.int64)
    bucket = tf.where(flat > 2, bucket, flat - 2)
    return tf.reshape(bucket, tf.shape(values))


def integer_tokens_to_keys(tokens: Sequence[bytes]) -> npt.NDArray[np.int64]:
    """Vocabulary tokens of an integer field (decimal strings, b'' = missing) -> int64 keys."""
    return np.asarray([MISSING_INT if t == b"" else int(t) for t in tokens], dtype=np.int64)


def integer_token(bucket: int) -> bytes:
    return b"" if bucket == MISSING_INT else str(int(bucket)).encode()


TABLES_MANIFEST = "tables.json"
_SPECIAL = (b"\\", b"\t", b"\n", b"\r")  # what cannot stand as is in a `key<TAB>id` line


def _escape_key(token: bytes) -> bytes:
    return token.replace(b"\\", b"\\\\").replace(b"\t", b"\\t").replace(b"\n", b"\\n").replace(b"\r", b"\\r")


def write_table_file(path: str, field: Dict[str, Any], vocabulary: Sequence[bytes]) -> Dict[str, Any]:
    """Writes one field's lookup table as `key<TAB>id` lines (ids 1.. in vocabulary order).

    The spec's vocabulary files can't feed `TextFileInitializer` themselves: the missing token
    is an empty line, which it refuses. Here every line has a key and an id. Integer fields get
    int64 keys (the missing token is `MISSING_INT`). A string field whose tokens hold a TAB, LF,
    CR or backslash is written with backslash escapes, and `RawToIds` escapes raw values the
    same way before the lookup (`escaped: true`), so such tokens are kept, not dropped.
    Returns the manifest entry: {name, file, size, escaped}.
    """
    vocabulary = list(vocabulary)
    integer = RawToIds.is_integer(field)
    escaped = (not integer) and any(s in t for t in vocabulary for s in _SPECIAL)
    lines = []
    for i, token in enumerate(vocabulary, start=1):
        if integer:
            key = str(int(integer_tokens_to_keys([token])[0])).encode()
        else:
            key = _escape_key(token) if escaped else token
        lines.append(key + b"\t" + str(i).encode() + b"\n")
    if not vocabulary:  # TF tables need a line: a key that maps to the OOV id anyway
        lines.append(str(MISSING_INT + 1).encode() + b"\t0\n" if integer else b"<empty vocabulary>\t0\n")
    atomic_write(path, b"".join(lines), fsync=False)
    return {
        "name": field["name"],
        "file": os.path.basename(path),
        "ids": len(vocabulary),
        "lines": len(lines),
        "escaped": escaped,
    }


class RawToIds(tf.Module):
    """Raw string values -> (batch, num_fields) int64 ids, one file-backed lookup table per field.

    The single raw -> id transform: the converter, `mezoo.predict` and the SavedModel export all
    run this module. It is a `tf.Module`, so `tf.saved_model` (and `keras.export.ExportArchive`)
    track its tables, and the table files travel as SavedModel assets.

    Args:
        fields: the spec's field dicts (name, source[, transform]).
        directory: a directory of table files written by `write_tables` (with its
            `tables.json` manifest), one per field.

    Build it with `RawToIds.from_spec(spec)` (tables derived from the spec's vocabulary files)
    or `RawToIds.from_vocabularies(fields, vocabularies)` (lists of bytes tokens in id order);
    without a `directory`, the table files go to a temporary directory that lives as long as the
    module. Call it with a (batch, num_fields) string tensor in field order or a dict name ->
    (batch,) string tensor. `assume_valid=True` skips the integer syntax check (the converter
    has validated rows already); otherwise unparsable integers map to the OOV id 0.

    Example:
        >>> to_ids = RawToIds.from_vocabularies(
        ...     [{"name": "site", "source": "string", "vocab_size": 3}], [[b"news", b""]])
        >>> to_ids(tf.constant([["news"], [""], ["sports"]])).numpy().tolist()
        [[1], [2], [0]]
    """

    def __init__(self, fields: List[Dict[str, Any]], directory: str):
        super().__init__(name="raw_to_ids")
        with open(os.path.join(directory, TABLES_MANIFEST), encoding="utf-8") as f:
            manifest = {entry["name"]: entry for entry in json.load(f)["fields"]}
        self.fields = [dict(f) for f in fields]
        self.names = [f["name"] for f in fields]
        self.escaped = []
        tables = []
        for field in self.fields:
            entry = manifest.get(field["name"])
            if entry is None:
                raise ValueError(f"no lookup table for field {field['name']!r} in {directory}")
            if int(field.get("vocab_size", entry["ids"] + 1)) != entry["ids"] + 1:
                raise ValueError(
                    f"field {field['name']!r}: vocab_size {field['vocab_size']} but the table "
                    f"{entry['file']} has {entry['ids']} ids (+1 OOV)"
                )
            integer = self.is_integer(field)
            initializer = tf.lookup.TextFileInitializer(
                os.path.join(directory, entry["file"]),
                tf.int64 if integer else tf.string,
                0,
                tf.int64,
                1,
                delimiter="\t",
                vocab_size=entry["lines"],
            )
            tables.append(tf.lookup.StaticHashTable(initializer, default_value=tf.constant(0, tf.int64)))
            self.escaped.append(bool(entry["escaped"]))
        self.tables = tables

    @staticmethod
    def is_integer(field: Dict[str, Any]) -> bool:
        if field.get("source") == "integer":
            transform = field.get("transform", LOG_SQUARE_BUCKET)
            if transform != LOG_SQUARE_BUCKET:
                raise ValueError(f"field {field['name']!r}: unknown transform {transform!r}")
            return True
        return False

    @staticmethod
    def write_tables(fields: List[Dict[str, Any]], vocabularies: Sequence[Sequence[bytes]], directory: str) -> str:
        """One `key<TAB>id` table file per field plus the `tables.json` manifest, in `directory`."""
        if len(fields) != len(vocabularies):
            raise ValueError("one vocabulary per field is needed")
        os.makedirs(directory, exist_ok=True)
        entries = []
        for i, (field, vocab) in enumerate(zip(fields, vocabularies)):
            vocab = list(vocab)
            if int(field.get("vocab_size", len(vocab) + 1)) != len(vocab) + 1:
                raise ValueError(
                    f"field {field['name']!r}: vocab_size {field['vocab_size']} but "
                    f"{len(vocab)} vocabulary tokens (+1 OOV)"
                )
            # numbered: field names may hold characters a file name can't, or differ only in case
            safe = re.sub(r"[^A-Za-z0-9_.-]", "_", str(field["name"]))[:64]
            entries.append(write_table_file(os.path.join(directory, f"{i:04d}_{safe}.tsv"), field, vocab))
        with open(os.path.join(directory, TABLES_MANIFEST), "w", encoding="utf-8") as f:
            json.dump({"format": "key<TAB>id per line; ids 1.. (0 = OOV)", "fields": entries}, f, indent=1)
        return directory

    @classmethod
    def from_vocabularies(
        cls, fields: List[Dict[str, Any]], vocabularies: Sequence[Sequence[bytes]], directory: Optional[str] = None
    ) -> "RawToIds":
        """Writes the table files (into `directory`, else a temporary one) and loads them."""
        temporary = directory is None
        if directory is None:
            directory = tempfile.mkdtemp(prefix="mezoo-tables-")
        cls.write_tables(fields, vocabularies, directory)
        module = cls(fields, directory)
        if temporary:  # the tables are loaded; the files go with the module
            weakref.finalize(module, shutil.rmtree, directory, True)
        return module

    @classmethod
    def from_spec(cls, spec: FeatureSpec, directory: Optional[str] = None) -> "RawToIds":
        """From a `FeatureSpec`'s vocabulary files (table files into `directory`, else a temporary one)."""
        return cls.from_vocabularies(spec.fields, [spec.vocabulary(f["name"]) for f in spec.fields], directory)

    def integer_keys(self, raw: tf.Tensor, assume_valid: bool = False) -> tf.Tensor:
        """Raw integer strings -> int64 table keys (bucket, MISSING_INT, or an unmatched key)."""
        missing = tf.equal(raw, "")
        if assume_valid:
            ok = tf.logical_not(missing)
        else:
            ok = tf.strings.regex_full_match(raw, INTEGER_PATTERN)
        number = tf.strings.to_number(tf.where(ok, raw, "0"), tf.int64)
        bucket = log_square_bucket(number)
        invalid_key = tf.constant(MISSING_INT + 1, tf.int64)  # no token maps here: OOV
        return tf.where(missing, tf.constant(MISSING_INT, tf.int64), tf.where(ok, bucket, invalid_key))

    def cell_ids(self, i: int, cells: tf.Tensor) -> Any:
        """Multi-valued field `i`'s raw cells `(n,)` -> (ids `(n, max_len)` int64 with `PADDING_ID`
        where a cell has fewer tokens, each cell's token count before truncation `(n,)`)."""
        field = self.fields[i]
        tokens, kept = cell_tokens(cells, field)
        keys = escape_keys(kept.flat_values) if self.escaped[i] else kept.flat_values
        ids = kept.with_flat_values(self.tables[i].lookup(keys))
        return ids.to_tensor(PADDING_ID, shape=[None, field_length(field)]), tokens.row_lengths()

    @property
    def width(self) -> int:
        """Columns of the ids: one per field, `max_len` per multi-valued field."""
        return sum(field_length(f) for f in self.fields)

    def __call__(self, raw: Union[Any, Dict[str, Any]], assume_valid: bool = False) -> tf.Tensor:
        """(batch, num_fields) raw strings, or a dict name -> (batch,) strings -> (batch, width) ids.

        Integer fields are parsed and bucketed together, in one op each, rather than field by
        field: a serving request's cost is mostly per-op overhead, not arithmetic.
        """
        integer = [i for i, f in enumerate(self.fields) if self.is_integer(f)]
        if isinstance(raw, dict):
            columns = [tf.convert_to_tensor(raw[name], tf.string) for name in self.names]
            block = tf.stack([columns[i] for i in integer], axis=-1) if integer else None
        else:
            raw = tf.convert_to_tensor(raw, tf.string)
            columns = [None if i in integer else raw[:, i] for i in range(len(self.names))]
            block = tf.gather(raw, integer, axis=1) if integer else None
        keys = [
            None if column is None else (escape_keys(column) if escaped else column)
            for column, escaped in zip(columns, self.escaped)
        ]
        if integer:
            integer_keys = self.integer_keys(block, assume_valid)
            for j, i in enumerate(integer):
                keys[i] = integer_keys[:, j]
        if not any(is_multi_valued(f) for f in self.fields):
            return tf.stack([table.lookup(key) for table, key in zip(self.tables, keys)], axis=-1)
        parts = [
            self.cell_ids(i, columns[i])[0] if is_multi_valued(field) else self.tables[i].lookup(keys[i])[:, None]
            for i, field in enumerate(self.fields)
        ]
        return tf.concat(parts, axis=-1)

    def per_field(self, columns: Sequence[tf.Tensor], assume_valid: bool = False) -> List[tf.Tensor]:
        """One raw string tensor per field (any shapes, e.g. each field's distinct values) -> one
        int64 id tensor per field; a multi-valued field's column `(n,)` gives `(n, max_len)` (`cell_ids`)."""
        return self.per_field_counted(columns, assume_valid)[0]

    def per_field_counted(
        self, columns: Sequence[tf.Tensor], assume_valid: bool = False
    ) -> Tuple[List[tf.Tensor], List[tf.Tensor]]:
        """`per_field`, and each multi-valued field's token count per cell before truncation."""
        ids, counts = [], []
        for i, (field, table, escaped, column) in enumerate(zip(self.fields, self.tables, self.escaped, columns)):
            if is_multi_valued(field):
                cell, count = self.cell_ids(i, column)
                ids.append(cell)
                counts.append(count)
                continue
            if self.is_integer(field):
                key = self.integer_keys(column, assume_valid)
            else:
                key = escape_keys(column) if escaped else column
            ids.append(table.lookup(key))
        return ids, counts


def escape_keys(raw: tf.Tensor) -> tf.Tensor:
    """The TF twin of `_escape_key`: backslash, TAB, LF and CR as two-character escapes."""
    for char, escape in (("\\\\", "\\\\\\\\"), ("\t", "\\\\t"), ("\n", "\\\\n"), ("\r", "\\\\r")):
        raw = tf.strings.regex_replace(raw, char, escape)
    return raw


def field_tokens(fields: List[Dict[str, Any]], raw: tf.Tensor, assume_valid: bool = True) -> List[tf.Tensor]:
    """Tokens of a (batch, num_fields) raw string tensor without any vocabulary (pass 1)."""
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
