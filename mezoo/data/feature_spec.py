"""`feature_spec.json`: what the converter wrote and what models, the input pipeline and `mezoo.export` read.

Layout (docs/formats.md): format_version, dataset, label, fields (name, kind, source, optional
transform, vocab_size, vocabulary; a `multi_valued` field also separator, max_len, truncate,
pooling), numeric, splits (files glob relative to the spec's directory, rows, compression),
preprocessing, source. Ids of a categorical field are 0..vocab_size-1, id 0 is the field's OOV
id, kept values take 1.. in vocabulary-file order. Version 2 adds multi-valued fields; a
version-1 spec (single-valued fields only) loads unchanged.
"""

import copy
import glob as _glob
import hashlib
import json
import os
import posixpath
import re
from typing import Any, Dict, List, Optional, Sequence, cast

from mezoo.atomic import atomic_write
from mezoo.data import multi_valued
from mezoo.errors import BadInput, MissingInput
from mezoo.fields import Field
from mezoo.run_layout import SPEC

FORMAT_VERSION = 2  # the newest; a spec without multi-valued fields is still written as 1
FORMAT_VERSIONS = (1, 2)
SPEC_NAME = SPEC  # a converted directory's spec, and a run directory's copy of it
# A field name used as it is in file names: letters, digits, `_`, `.` and `-`, not starting with `.`.
PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,100}")


class SpecError(BadInput, ValueError):
    """A feature spec that is not valid (the message names the spec's problem)."""


def file_stem(name: str) -> str:
    """A file name for a field: the name itself when it is a plain one (`C1`, `user_id`), else a
    digest of it with its plain characters (`5d41402a-clicks_day` for `clicks/day`), so that no
    field name (`../../x`, `/etc/x`, a name with a NUL) can place a file outside its folder."""
    if PLAIN_NAME.fullmatch(name):
        return name
    plain = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")[:40]
    return f"{hashlib.sha1(name.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}-{plain}"


def vocabulary_path(name: str) -> str:
    """Where a field's vocabulary file lives, relative to its spec: `vocab/<file_stem(name)>.txt`."""
    return f"vocab/{file_stem(name)}.txt"


def check_inside(relative: str, what: str) -> None:
    """Refuses a path from a spec that is absolute, remote or climbs out of the spec's directory."""
    parts = posixpath.normpath(relative.replace("\\", "/")).split("/")
    if _is_remote(relative) or os.path.isabs(relative) or relative.startswith(("/", "\\")) or ".." in parts:
        raise SpecError(
            f"feature spec: {what} {relative!r} is not a path inside the spec's directory "
            "(a spec may only name files under its own folder)"
        )


def _is_remote(path: str) -> bool:
    return "://" in path


class RemoteFileSystemError(MissingInput):
    """A remote path whose file system this installation can't reach (`mezoo[s3]` not installed)."""


def _gfile(path: str = "") -> Any:
    import tensorflow as tf  # remote file systems (s3:// via tensorflow-io) need TensorFlow

    if path.startswith("s3://"):
        try:
            import tensorflow_io  # noqa: F401  (registers s3://)
        except Exception as error:  # missing, or a build that doesn't load on this TensorFlow
            raise RemoteFileSystemError(
                f"{path}: s3:// paths need tensorflow-io, which loads only on TensorFlow 2.16: "
                f"pip install 'mezoo[s3]' (TensorFlow {tf.__version__} here; {type(error).__name__}: {error})"
            ) from None
    return tf.io.gfile


def read_text(path: str) -> str:
    if _is_remote(path):
        with _gfile(path).GFile(path, "r") as f:
            text: str = f.read()
            return text
    with open(path, encoding="utf-8") as f:
        return f.read()


class FeatureSpec:
    """The feature spec of a converted directory.

    `fields`: list of dicts (name, kind="categorical", source, transform, vocab_size,
    vocabulary); `numeric`: list of dicts (name); `splits`: {name: {files, rows, compression}}.
    `directory` is where relative paths (shards, vocabularies) are resolved; it may be s3://.
    """

    def __init__(self, data: Dict[str, Any], directory: str = "."):
        data = copy.deepcopy(data)
        version = data.get("format_version", 1)
        if version not in FORMAT_VERSIONS:
            raise SpecError(
                f"feature spec format_version {version} is not supported (this mezoo reads {FORMAT_VERSIONS})"
            )
        data["format_version"] = version
        for key in ("fields", "splits"):
            if key not in data:
                raise SpecError(f"feature spec lacks {key!r}")
        data.setdefault("label", "label")
        data.setdefault("numeric", [])
        data["numeric"] = [n if isinstance(n, dict) else {"name": n} for n in data["numeric"]]
        names = [str(f.get("name")) for f in data["fields"]] + [str(n.get("name")) for n in data["numeric"]]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise SpecError(f"feature spec names the field(s) {repeated} more than once")
        for field in data["fields"]:
            field.setdefault("kind", "categorical")
            if field["kind"] not in multi_valued.CATEGORICAL_KINDS:
                raise SpecError(
                    f"field {field.get('name')!r}: kind {field['kind']!r} is not one of "
                    f"{', '.join(multi_valued.CATEGORICAL_KINDS)}"
                )
            if int(field.get("vocab_size", 0)) < 1:
                raise SpecError(f"field {field.get('name')!r} needs vocab_size >= 1")
            if multi_valued.is_multi_valued(field):
                if version < 2:
                    raise SpecError(f"field {field.get('name')!r} is multi-valued, which needs format_version 2")
                try:
                    multi_valued.check_field(field, "feature spec")
                except ValueError as error:
                    raise SpecError(str(error)) from None
                field.update(multi_valued.with_defaults(field))
            if "vocabulary" in field:
                check_inside(str(field["vocabulary"]), f"field {field.get('name')!r}'s vocabulary")
        for split, entry in data["splits"].items():
            if isinstance(entry, dict) and "files" in entry:
                check_inside(str(entry["files"]), f"split {split!r}'s files")
        self._data = data
        self.directory = directory

    # -- loading and saving -------------------------------------------------------------
    @classmethod
    def load(cls, path: str) -> "FeatureSpec":
        """Loads `path` (a feature_spec.json or the directory holding one; local or s3://)."""
        if not path.endswith(".json"):
            path = path.rstrip("/") + "/" + SPEC_NAME
        try:
            text = read_text(path)
        except RemoteFileSystemError:
            raise
        except (OSError, IOError) as e:
            raise MissingInput(f"cannot read feature spec {path}: {e}") from e
        except Exception as e:  # tf.errors.NotFoundError and friends
            raise MissingInput(f"cannot read feature spec {path}: {e}") from e
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise SpecError(f"feature spec {path} is not valid JSON: {e}") from e
        directory = path.rsplit("/", 1)[0] if "/" in path else "."
        if not isinstance(data, dict):
            raise SpecError(f"feature spec {path}: not a JSON object")
        try:
            return cls(data, directory)
        except SpecError as error:
            raise SpecError(f"{path}: {error}") from None

    def to_dict(self) -> Dict[str, Any]:
        return copy.deepcopy(self._data)

    def save(self, path: str) -> str:
        """Writes the spec as JSON (atomically for local paths); returns the path written."""
        if os.path.isdir(path) or not path.endswith(".json"):
            path = os.path.join(path, SPEC_NAME)
        text = json.dumps(self._data, indent=1, sort_keys=False) + "\n"
        atomic_write(path, text)
        return path

    # -- contents -------------------------------------------------------------------------
    @property
    def dataset(self) -> str:
        return cast(str, self._data.get("dataset", ""))

    @property
    def label(self) -> str:
        return cast(str, self._data["label"])

    @property
    def fields(self) -> List[Dict[str, Any]]:
        return cast(List[Dict[str, Any]], self._data["fields"])

    @property
    def numeric(self) -> List[Dict[str, Any]]:
        return cast(List[Dict[str, Any]], self._data["numeric"])

    @property
    def splits(self) -> Dict[str, Dict[str, Any]]:
        return cast(Dict[str, Dict[str, Any]], self._data["splits"])

    @property
    def preprocessing(self) -> Dict[str, Any]:
        return cast(Dict[str, Any], self._data.get("preprocessing", {}))

    @property
    def field_names(self) -> List[str]:
        return [f["name"] for f in self.fields]

    @property
    def numeric_names(self) -> List[str]:
        return [n["name"] for n in self.numeric]

    @property
    def vocab_sizes(self) -> List[int]:
        return [int(f["vocab_size"]) for f in self.fields]

    @property
    def num_fields(self) -> int:
        return len(self.fields)

    @property
    def field_lengths(self) -> List[int]:
        """Id columns of each field: 1, or a multi-valued field's `max_len`."""
        return multi_valued.id_columns(self.fields)

    @property
    def model_fields(self) -> List[Field]:
        """The categorical fields as models take them (`mezoo.fields.Field`)."""
        return [multi_valued.model_field(f) for f in self.fields if f.get("kind") in multi_valued.CATEGORICAL_KINDS]

    @property
    def id_width(self) -> int:
        """Columns of the `ids` feature and model input: the sum of `field_lengths`."""
        return sum(self.field_lengths)

    @property
    def has_multi_valued(self) -> bool:
        return any(multi_valued.is_multi_valued(f) for f in self.fields)

    def field(self, name: str) -> Dict[str, Any]:
        for f in self.fields:
            if f["name"] == name:
                return f
        raise KeyError(f"no field {name!r} in the feature spec")

    def resolve(self, relative: str) -> str:
        """A path from the spec (vocabulary, shard glob) made absolute against its directory."""
        if _is_remote(relative) or os.path.isabs(relative):
            return relative
        if _is_remote(self.directory):
            return self.directory.rstrip("/") + "/" + relative
        return os.path.join(self.directory, relative)

    def compression(self, split: str) -> Optional[str]:
        entry = self._split(split)
        if "compression" in entry:
            return cast(Optional[str], entry["compression"] or None)
        return "GZIP" if entry["files"].endswith(".gz") else None

    def files(self, split: str) -> List[str]:
        """The split's shard paths, sorted; raises if the glob matches nothing."""
        pattern = self.resolve(self._split(split)["files"])
        if _is_remote(pattern):
            found = sorted(_gfile(pattern).glob(pattern))
        else:
            found = sorted(_glob.glob(pattern))
        if not found:
            raise MissingInput(f"split {split!r}: no shard matches {pattern}")
        return found

    def rows(self, split: str) -> int:
        return int(self._split(split).get("rows", -1))

    def vocabulary(self, name: str) -> List[bytes]:
        """Kept tokens of a field in id order (id = position + 1), as bytes."""
        return read_vocabulary(self.resolve(self.field(name)["vocabulary"]))

    def check_vocabulary_sizes(self) -> None:
        """Refuses a field whose `vocab_size` is not its vocabulary's values plus the OOV id 0 (`SpecError`).

        A smaller vocab_size makes the ids above it read the next field's rows of a fused table; a
        larger one allocates rows no value reaches. Fields without a vocabulary file (a spec of
        ids only) are not checked: their ids are what the data holds.
        """
        for field in self.fields:
            if "vocabulary" not in field:
                continue
            path = self.resolve(field["vocabulary"])
            try:
                values = len(read_vocabulary(path))
            except OSError as error:
                raise SpecError(f"field {field['name']!r}: cannot read its vocabulary {path} ({error})") from None
            except ValueError as error:
                raise SpecError(f"field {field['name']!r}: {error}") from None
            if int(field["vocab_size"]) != values + 1:
                raise SpecError(
                    f"feature spec in {self.directory}: field {field['name']!r} has vocab_size "
                    f"{field['vocab_size']}, but its vocabulary {field['vocabulary']} lists {values} values, so "
                    f"vocab_size must be {values + 1} (the values and the OOV id 0): the spec or the vocabulary was "
                    "edited or damaged; convert again"
                )

    def _split(self, split: str) -> Dict[str, Any]:
        if split not in self.splits:
            raise KeyError(f"no split {split!r} in the feature spec (has {sorted(self.splits)})")
        return self.splits[split]

    def __repr__(self) -> str:
        return (
            f"FeatureSpec(dataset={self.dataset!r}, fields={self.num_fields}, "
            f"numeric={len(self.numeric)}, splits={ {k: v.get('rows') for k, v in self.splits.items()} })"
        )


# Vocabulary files hold one token per line in id order (first line = id 1). Tokens are raw
# bytes with backslash escapes for "\\", "\n" and "\r", so every token (the empty missing
# token included: an empty line) is exactly one line.
def escape_token(token: bytes) -> bytes:
    return token.replace(b"\\", b"\\\\").replace(b"\n", b"\\n").replace(b"\r", b"\\r")


def unescape_token(line: bytes) -> bytes:
    if b"\\" not in line:
        return line
    out, i = bytearray(), 0
    while i < len(line):
        c = line[i : i + 1]
        if c == b"\\" and i + 1 < len(line):
            nxt = line[i + 1 : i + 2]
            out += {b"n": b"\n", b"r": b"\r"}.get(nxt, nxt)
            i += 2
        else:
            out += c
            i += 1
    return bytes(out)


def vocabulary_bytes(tokens: Sequence[bytes]) -> bytes:
    """The contents of a vocabulary file: each token escaped, one per line, in id order."""
    return b"".join(escape_token(t) + b"\n" for t in tokens)


def write_vocabulary(path: str, tokens: Sequence[bytes]) -> None:
    """Writes a vocabulary file (`vocabulary_bytes`) under a temporary name, then renames it."""
    atomic_write(path, vocabulary_bytes(tokens))


def read_vocabulary(path: str) -> List[bytes]:
    if _is_remote(path):
        with _gfile(path).GFile(path, "rb") as f:
            data: bytes = f.read()
    else:
        with open(path, "rb") as f:
            data = f.read()
    if not data:
        return []
    if not data.endswith(b"\n"):
        raise SpecError(f"vocabulary {path} is truncated (no final newline)")
    return [unescape_token(line) for line in data[:-1].split(b"\n")]
