"""Schema files of the csv tool: loading them and turning them into a `mezoo.data.raw.layout.Layout` (no flags)."""

import json
import os
from typing import List, Optional

import yaml

from mezoo import strict_yaml
from mezoo.data.raw.layout import Layout
from mezoo.data.raw.reader import FileInfo, check_inputs, check_parquet_types, read_header
from tfrecord_tools.convert.errors import ConversionError

DELIMITERS = {"csv": ",", "tsv": "\t"}


# every key a schema may hold; a misspelt one (`numerc:`) would otherwise be ignored silently
KEYS = (
    "dataset",
    "format",
    "delimiter",
    "header",
    "columns",
    "label",
    "categorical",
    "multi_valued",
    "integer",
    "numeric",
    "splits",
    "min_count",
    "seed",
    "split",
    "vocabulary_splits",
)
LIST_KEYS = ("columns", "categorical", "integer", "numeric", "vocabulary_splits")
RENAMED = {"vocabulary_from": "vocabulary_splits"}  # old key -> new key


def load_schema(path: str) -> dict:
    check_inputs([path])
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError as e:
        raise ConversionError(f"schema {path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    try:
        schema = json.loads(text) if path.endswith(".json") else strict_yaml.load(text)
    except strict_yaml.DuplicateKeyError as e:
        raise ConversionError(f"schema {path}, {e}") from None
    except json.JSONDecodeError as e:
        raise ConversionError(f"schema {path}, line {e.lineno}: not valid JSON: {e.msg}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConversionError(
            f"schema {path}{where}: not a plain YAML schema: {problem} (tags such as !!python/... are not allowed)"
        ) from None
    if isinstance(schema, dict):
        for old, new in RENAMED.items():
            if old in schema:
                raise ConversionError(
                    f"schema {path}: the key {old} is now {new} (the splits the vocabularies are counted on); "
                    f"rename it (the flag --{old} DIR grows an earlier conversion's vocabularies)"
                )
        unknown = sorted(str(k) for k in schema if k not in KEYS)
        if unknown:
            raise ConversionError(f"schema {path}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(KEYS)}")
        for key in LIST_KEYS:
            if key in schema and schema[key] is not None and not isinstance(schema[key], list):
                raise ConversionError(f"schema {path}: {key} must be a list of column names, not {schema[key]!r}")
    if not isinstance(schema, dict) or "label" not in schema:
        raise ConversionError(f"schema {path}: needs at least `label` and some `categorical`/`integer` columns")
    if not (schema.get("categorical") or schema.get("integer")):
        raise ConversionError(f"schema {path}: no categorical or integer columns")
    check_roles(schema, path)
    check_multi_valued(schema, path)
    return schema


MULTI_VALUED_KEYS = ("separator", "max_len", "pooling", "truncate")


def check_multi_valued(schema: dict, path: str) -> None:
    """`multi_valued: {genres: {separator: "|", max_len: 6, pooling: mean, truncate: first}}`:
    each such column also listed under `categorical`, its settings valid."""
    from mezoo.data import multi_valued

    given = schema.get("multi_valued")
    if given is None:
        return
    if not isinstance(given, dict):
        raise ConversionError(f"schema {path}: multi_valued must map column names to their settings, not {given!r}")
    for name, settings in given.items():
        where = f"schema {path}: multi_valued {name!r}"
        if name not in (schema.get("categorical") or []):
            raise ConversionError(f"{where} is not listed under categorical (a multi-valued column must be)")
        if not isinstance(settings, dict):
            raise ConversionError(f"{where}: give its settings as a mapping ({', '.join(MULTI_VALUED_KEYS)})")
        unknown = sorted(str(k) for k in settings if k not in MULTI_VALUED_KEYS)
        if unknown:
            valid = ", ".join(MULTI_VALUED_KEYS)
            raise ConversionError(f"{where}: unknown key(s) {', '.join(unknown)}; valid: {valid}")
        try:
            multi_valued.check_field({"name": name, **settings}, f"schema {path}")
        except ValueError as error:
            raise ConversionError(str(error)) from None
        if schema.get("format", "csv") != "parquet":
            delimiter = schema.get("delimiter", DELIMITERS.get(schema.get("format", "csv"), ","))
            separator = settings.get("separator", multi_valued.DEFAULTS["separator"])
            check_separator(name, separator, delimiter, f"schema {path}")


def check_separator(name: str, separator, delimiter, where: str) -> None:
    """Refuses a separator that holds the file's delimiter: no cell holds one, so it would never split a cell."""
    if isinstance(separator, str) and isinstance(delimiter, str) and delimiter and delimiter in separator:
        what = "is" if separator == delimiter else "contains"
        raise ConversionError(
            f"{where}: multi_valued {name!r}: its separator {separator!r} {what} the file's column delimiter "
            f"{delimiter!r}, so it would never split a cell (no cell holds the delimiter; each whole cell would be "
            "one value): choose a separator without it"
        )


ROLES = ("label", "categorical", "integer", "numeric")


def check_roles(schema: dict, path: str) -> None:
    """Refuses a column given two roles (the label as a feature, one column categorical and numeric)."""
    roles: dict = {}
    for role in ROLES:
        names = [schema[role]] if role == "label" else list(schema.get(role) or [])
        for name in names:
            if name in roles.get(role, []):
                raise ConversionError(f"schema {path}: column {name!r} is listed twice under {role}")
            roles.setdefault(role, []).append(name)
    seen: dict = {}
    for role in ROLES:
        for name in roles.get(role, []):
            if name in seen:
                label = "label" in (seen[name], role)
                hint = " (a model would read the answer it is asked to predict)" if label else ""
                raise ConversionError(
                    f"schema {path}: column {name!r} is both {seen[name]} and {role}: give each column one role{hint}"
                )
            seen[name] = role


def check_unique_columns(columns, used, where: str) -> None:
    """Refuses a header that names a column the schema uses more than once (which one would be read?)."""
    positions: dict = {}
    for i, name in enumerate(columns):
        positions.setdefault(name, []).append(i + 1)
    twice = {name: p for name, p in positions.items() if len(p) > 1 and name in used}
    if twice:
        described = "; ".join(f"{name!r} in columns {', '.join(map(str, p))}" for name, p in twice.items())
        raise ConversionError(f"{where}: the header names {described}: rename the repeated columns")


def build(schema: dict, schema_dir: str, inputs, path: Optional[str] = None):
    """The schema's input files, `Layout` and input kind ("text" or "parquet"); `path` (the schema
    file) names it in errors."""
    where = f"schema {path}" if path else "the schema"
    fmt = schema.get("format", "csv")
    if fmt not in ("csv", "tsv", "parquet", "text"):
        raise ConversionError(f"schema format {fmt!r}: use csv, tsv, parquet (or text with a delimiter)")
    files = schema_inputs(schema, schema_dir, inputs)
    check_inputs([f.path for f in files])
    if fmt == "parquet":
        check_parquet_inputs(schema, files)
        delimiter, header, columns = ",", False, used_columns(schema)
    else:
        delimiter = schema.get("delimiter", DELIMITERS.get(fmt, ","))
        header = bool(schema.get("header", True))
        columns = text_columns(schema, files, delimiter, header)
    used = {schema["label"], *(schema.get("categorical") or []), *(schema.get("integer") or [])}
    check_unique_columns(columns, used | set(schema.get("numeric") or []), files[0].path if files else "the schema")
    index = {c: i for i, c in enumerate(columns)}
    for c in used_columns(schema):
        if c not in index:
            raise ConversionError(f"schema column {c!r} is not among the input's columns {columns}")
    layout = Layout(
        num_columns=len(columns),
        label=index[schema["label"]],
        fields=layout_fields(schema, columns, delimiter if fmt != "parquet" else None, where),
        numeric=[{"name": c, "column": index[c]} for c in columns if c in (schema.get("numeric") or [])],
        delimiter=delimiter,
        header=header,
        label_name=schema["label"],
        columns=list(columns),
    )
    return files, layout, ("parquet" if fmt == "parquet" else "text")


def used_columns(schema: dict) -> List[str]:
    """The columns the schema reads: the label, then categorical, integer and numeric ones."""
    return (
        [schema["label"]]
        + list(schema.get("categorical", []))
        + list(schema.get("integer", []))
        + list(schema.get("numeric", []))
    )


def schema_inputs(schema: dict, schema_dir: str, inputs) -> List[FileInfo]:
    """The schema's split files (paths relative to its folder), else `--input`'s files."""
    if schema.get("splits"):
        if inputs:
            raise ConversionError("the schema gives split files: do not pass --input as well")
        return [
            FileInfo(os.path.join(schema_dir, p), split=split)
            for split, paths in schema["splits"].items()
            for p in ([paths] if isinstance(paths, str) else paths)
        ]
    if not inputs:
        raise ConversionError("pass --input (or give `splits` in the schema)")
    return [FileInfo(p) for p in inputs]


def check_parquet_inputs(schema: dict, files: List[FileInfo]) -> None:
    """Every Parquet input holds the schema's columns, each of a type read as one text value per row."""
    import pyarrow.parquet as pq

    columns = used_columns(schema)
    for f in files:
        try:
            arrow_schema = pq.ParquetFile(f.path).schema_arrow
        except Exception as e:
            raise ConversionError(f"cannot read Parquet input {f.path}: {e}") from e
        missing = [c for c in columns if c not in arrow_schema.names]
        if missing:
            raise ConversionError(f"{f.path}: columns {missing} not in the file")
        check_parquet_types(f.path, arrow_schema, columns, dict.fromkeys(schema.get("multi_valued") or {}, ""))


def text_columns(schema: dict, files: List[FileInfo], delimiter: str, header: bool) -> List[str]:
    """The text inputs' columns: their header (the same in every file, and the schema's `columns` if
    given), or the schema's `columns` for headerless files."""
    if not header:
        if not schema.get("columns"):
            raise ConversionError("header: false needs `columns:` in the schema")
        return list(schema["columns"])
    columns: List[str] = []
    for i, f in enumerate(files):
        names = read_header(f.path).decode("utf-8", "replace").split(delimiter)
        if i == 0:
            columns = names
        elif names != columns:
            raise ConversionError(f"{f.path}: header {names} differs from {files[0].path}'s {columns}")
    if schema.get("columns") and schema["columns"] != columns:
        raise ConversionError(f"{files[0].path}: header {columns} is not the schema's columns {schema['columns']}")
    return columns


def layout_fields(schema: dict, columns: List[str], delimiter: Optional[str], where: str) -> List[dict]:
    """The spec's categorical fields in the file's column order (multi-valued, string or integer)."""
    index = {c: i for i, c in enumerate(columns)}
    multi = schema.get("multi_valued") or {}
    fields = []
    for c in columns:
        if c in multi:
            fields.append({**multi_valued_field(c, multi[c], delimiter, where), "column": index[c]})
        elif c in (schema.get("categorical") or []):
            fields.append({"name": c, "kind": "categorical", "source": "string", "column": index[c]})
        elif c in (schema.get("integer") or []):
            fields.append(
                {
                    "name": c,
                    "kind": "categorical",
                    "source": "integer",
                    "transform": "log_square_bucket",
                    "column": index[c],
                }
            )
    return fields


def multi_valued_field(name: str, settings: dict, delimiter, where: str = "the schema") -> dict:
    """A multi-valued spec field (kind, source, separator, max_len, truncate, pooling) from the schema's settings."""
    from mezoo.data import multi_valued

    field = {"name": name, "kind": multi_valued.MULTI_VALUED, "source": "string", **settings}
    field = multi_valued.with_defaults(field)
    try:
        multi_valued.check_field(field, where)
    except ValueError as error:
        raise ConversionError(str(error)) from None
    if delimiter is not None:
        check_separator(name, field["separator"], delimiter, where)
    return {k: field[k] for k in ("name", "kind", "source", "separator", "max_len", "truncate", "pooling")}
