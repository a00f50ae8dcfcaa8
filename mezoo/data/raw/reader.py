"""Reading raw inputs in chunks of whole lines, with nothing lost.

Delimited text (plain or gzip, detected from the magic bytes) is read in blocks cut at line
ends; a UTF-8 byte-order mark at the start of a file is dropped, CRLF becomes LF, and a last
line without its newline is still a line, marked `unterminated` on its chunk (the converter
rejects it as truncated unless told to accept it; the summary notes the missing newline). Each chunk
carries its file, the number of its first line, and which of its lines are not valid UTF-8.
Parquet is read with pyarrow, a record batch at a time, every column cast to string (a null
becomes the empty string, i.e. missing); row numbers stand in for line numbers.
"""

import builtins
import glob
import gzip
import hashlib
import io
import os
import re
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

from mezoo.errors import BadInput

# Other file systems come in through these (the Beam converter passes apache_beam.io.filesystems').
Opener = Callable[[str], IO[bytes]]
Sizer = Callable[[str], int]

BOM = b"\xef\xbb\xbf"
GZIP_MAGIC = b"\x1f\x8b"
# Compressions read by other tools, recognised so that they are refused by name instead of
# being read as text (every line would be rejected, or worse, a few would pass).
UNSUPPORTED_MAGIC = {
    b"BZh91AY&": "bzip2",  # block size 9, the default (others below)
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"PK\x03\x04": "zip",
    b"\x04\x22\x4d\x18": "lz4",
}
UNSUPPORTED_MAGIC.update({b"BZh" + bytes([c]) + b"1AY&": "bzip2" for c in b"12345678"})


class InputError(BadInput):
    """A problem with an input or output path, reported with the path."""


@dataclass
class FileInfo:
    path: str
    split: Optional[str] = None  # a given split (csv tool), else None
    bytes: int = 0
    sha256: str = ""
    compression: str = ""
    header: Optional[builtins.bytes] = None  # (`bytes` is the field above here)
    lines: int = 0  # data lines read (header excluded)
    empty: bool = False
    final_newline: bool = True
    bom: bool = False
    crlf: bool = False
    rejected: Dict[str, int] = field(default_factory=dict)


@dataclass
class Chunk:
    file_index: int
    first_line: int  # 1-based line number of the chunk's first line in its file
    data: Optional[bytes] = None  # text: lines joined by b"\n", no final newline
    num_lines: int = 0
    bad_utf8: Optional[npt.NDArray[np.bool_]] = None  # bool (num_lines,) or None when all valid
    columns: Optional[List[npt.NDArray[Any]]] = None  # parquet: one object array of bytes per column
    unterminated: bool = False  # text: the chunk's last line is its file's last and has no newline


class _HashingReader:
    """A file object that hashes the (possibly compressed) bytes it hands out."""

    def __init__(self, f: IO[bytes]):
        self.f, self.hash = f, hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        self.hash.update(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        raise io.UnsupportedOperation("a hashing reader reads forward only")

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.f.close()


def natural_key(path: str) -> List[object]:
    """Sort key that orders the numbers in a name by value: day_2 before day_10."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path)]


def is_pattern(path: str) -> bool:
    return any(c in path for c in "*?[")


def input_paths(values: Optional[Sequence[str]], match: Optional[Callable[[str], List[str]]] = None) -> List[str]:
    """The paths of repeated / comma-separated `--input` values, shell-style globs expanded in natural order.

    Args:
        values: the flag's values; each may hold several paths separated by commas.
        match: pattern -> the paths it matches (default: local `glob`). Given, it is asked about
            plain paths too, so a file system without local paths (Beam's) checks they exist.

    Raises:
        InputError: a pattern that matches nothing, or (with `match`) a path that does not exist.
    """
    out: List[str] = []
    for value in values or []:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            if not is_pattern(part) and match is None:
                out.append(part)  # (check_inputs says what is wrong with it)
                continue
            found = (match or glob.glob)(part)
            if not found:
                raise InputError(
                    f"no input file matches {part}" if is_pattern(part) else f"input file not found: {part}"
                )
            out += sorted(found, key=natural_key) if is_pattern(part) else [part]
    return out


def check_inputs(paths: List[str]) -> None:
    for p in paths:
        if not os.path.exists(p):
            raise InputError(f"input file not found: {p}")
        if os.path.isdir(p):
            raise InputError(f"input is a directory, not a file: {p}")
        if not os.access(p, os.R_OK):
            raise InputError(f"input file is not readable: {p}")


def _open(path: str, opener: Optional[Opener] = None) -> Tuple[_HashingReader, Any, str]:
    raw = opener(path) if opener is not None else open(path, "rb")
    magic = raw.read(8)
    raw.seek(0)
    for prefix, name in UNSUPPORTED_MAGIC.items():
        if magic.startswith(prefix):
            raw.close()
            raise InputError(
                f"input {path} is {name}-compressed, which is not read here (plain text or gzip only): "
                "decompress it, or recompress it with gzip"
            )
    magic = magic[:2]
    hashing = _HashingReader(raw)
    if magic == GZIP_MAGIC:
        return hashing, gzip.GzipFile(fileobj=hashing, mode="rb"), "gzip"
    return hashing, hashing, ""


def _bad_utf8_lines(data: bytes, num_lines: int) -> Optional[npt.NDArray[np.bool_]]:
    try:
        data.decode("utf-8")
        return None
    except UnicodeDecodeError:
        pass
    bad = np.zeros(num_lines, bool)
    for i, line in enumerate(data.split(b"\n")):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            bad[i] = True
    return bad


def read_text_chunks(
    files: List[FileInfo],
    header: bool,
    chunk_bytes: int = 8 << 20,
    opener: Optional[Opener] = None,
    sizer: Optional[Sizer] = None,
    first_index: int = 0,
) -> Iterator[Chunk]:
    """Chunks of whole lines from each file in turn; fills in each FileInfo as it goes.

    With `header`, each file's first line is its header (stored in `FileInfo.header`), not data.
    `opener(path)` / `sizer(path)` (default: local `open`, `os.path.getsize`) let other file
    systems in (the Beam converter passes `apache_beam.io.filesystems`'s); chunks number their
    file from `first_index`.
    """
    for index, info in enumerate(files, start=first_index):
        info.bytes = sizer(info.path) if sizer is not None else os.path.getsize(info.path)
        try:
            hashing, f, info.compression = _open(info.path, opener)
        except OSError as e:
            raise InputError(f"cannot open input {info.path}: {e}") from e

        def read() -> bytes:
            try:
                return bytes(f.read(chunk_bytes))
            except (OSError, EOFError, gzip.BadGzipFile) as e:
                raise InputError(f"cannot read input {info.path} (corrupted or truncated gzip?): {e}") from e

        info.lines, info.final_newline = 0, True
        line_no = 1
        try:
            rest = read()
            info.empty = not rest
            if rest.startswith(BOM):
                rest, info.bom = rest[len(BOM) :], True
            if header and rest:
                while b"\n" not in rest:
                    block = read()
                    if not block:
                        break
                    rest += block
                head, _, rest = rest.partition(b"\n")
                info.header = head.rstrip(b"\r")
                line_no = 2
            while True:
                block = read()
                data = rest + block
                unterminated = False
                if block:
                    cut = data.rfind(b"\n")
                    if cut < 0:
                        rest = data
                        continue
                    text, rest = data[:cut], data[cut + 1 :]
                elif not data:
                    break
                elif data.endswith(b"\n"):
                    text, rest = data[:-1], b""
                else:  # a last line without its newline (maybe truncated)
                    info.final_newline, unterminated = False, True
                    text, rest = data, b""
                if b"\r" in text:
                    if b"\r\n" in text:
                        info.crlf = True
                        text = text.replace(b"\r\n", b"\n")
                    if text.endswith(b"\r"):  # CRLF cut at the chunk's end
                        text, info.crlf = text[:-1], True
                n = text.count(b"\n") + 1
                yield Chunk(
                    index, line_no, data=text, num_lines=n, bad_utf8=_bad_utf8_lines(text, n), unterminated=unterminated
                )
                line_no += n
                info.lines += n
                if not block:
                    break
        finally:
            f.close()
            if f is not hashing:
                hashing.close()
        info.sha256 = hashing.hash.hexdigest()


def read_header(path: str, opener: Optional[Opener] = None) -> bytes:
    """The first line of a (plain or gzip) text file, without BOM and line end."""
    if opener is None:
        check_inputs([path])
    hashing, f, _ = _open(path, opener)
    buf = b""
    try:
        while b"\n" not in buf:
            block = f.read(65536)
            if not block:
                break
            buf += block
    finally:
        f.close()
        if f is not hashing:
            hashing.close()
    if buf.startswith(BOM):
        buf = buf[len(BOM) :]
    return buf.split(b"\n", 1)[0].rstrip(b"\r")


def read_parquet_chunks(
    files: List[FileInfo],
    columns: List[str],
    batch_rows: int = 65536,
    list_separators: Optional[Dict[str, str]] = None,
) -> Iterator[Chunk]:
    """Parquet files as chunks of columns of bytes (values as text: integral floats as integers, nulls as "").

    A list column named in `list_separators` (a multi-valued field's) becomes its elements joined
    by the field's separator; an element holding the separator is an `InputError` naming the
    file, row and column (it would read as two tokens). A row holding bytes that are not UTF-8
    (in a string, binary or list column) is marked in the chunk's `bad_utf8`, and rejected as
    `invalid_utf8` as a text line is. A column of another type (a struct, a map, a list of lists)
    is an `InputError` naming the file, column and type (`check_parquet_types`).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    list_separators = list_separators or {}
    for index, info in enumerate(files):
        info.bytes = os.path.getsize(info.path)
        h = hashlib.sha256()
        with open(info.path, "rb") as f:
            for block in iter(lambda: f.read(1 << 22), b""):
                h.update(block)
        info.sha256 = h.hexdigest()
        try:
            pf = pq.ParquetFile(info.path)
        except Exception as e:
            raise InputError(f"cannot read Parquet input {info.path}: {e}") from e
        missing = [c for c in columns if c not in pf.schema_arrow.names]
        if missing:
            raise InputError(f"Parquet input {info.path} lacks columns {missing}")
        check_parquet_types(info.path, pf.schema_arrow, columns, list_separators)
        info.lines, info.empty, info.compression = 0, pf.metadata.num_rows == 0, "parquet"
        line_no = 1
        for batch in pf.iter_batches(batch_size=batch_rows, columns=columns):
            cols = []
            bad = np.zeros(batch.num_rows, bool)
            for name in columns:
                col = batch.column(batch.schema.get_field_index(name))
                where = f"Parquet input {info.path}, column {name!r} ({col.type})"
                try:
                    if pa.types.is_dictionary(col.type):
                        col = pc.cast(col, col.type.value_type)
                    if is_list_type(col.type):
                        col = joined_list(col, list_separators[name], f"Parquet input {info.path}", name, line_no)
                    elif pa.types.is_floating(col.type):
                        # integral floats (1.0) print as integers so integer fields and labels parse
                        as_int = pc.cast(col, pa.int64(), safe=False)
                        integral = pc.equal(pc.cast(as_int, col.type), col)
                        col = pc.if_else(integral, pc.cast(as_int, pa.string()), pc.cast(col, pa.string()))
                    elif not is_text_type(col.type):
                        col = pc.cast(col, pa.string())
                    # as bytes: a string column's are not checked by pyarrow, and may be any
                    col = pc.fill_null(pc.cast(col, pa.binary()), b"")
                    bad |= invalid_utf8(col)
                except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError) as e:
                    rows = f"rows {line_no}..{line_no + batch.num_rows - 1}"
                    raise InputError(f"{where}, {rows}: can't be read as text values: {e}") from None
                cols.append(np.asarray(col.to_numpy(zero_copy_only=False), dtype=object))
            n = batch.num_rows
            yield Chunk(index, line_no, columns=cols, num_lines=n, bad_utf8=bad if bad.any() else None)
            line_no += n
            info.lines += n


def is_list_type(arrow_type: Any) -> bool:
    import pyarrow as pa

    t = arrow_type
    return bool(pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t))


def is_text_type(arrow_type: Any) -> bool:
    """String or binary (of any offset width): values kept as their bytes."""
    import pyarrow as pa

    t = arrow_type
    return bool(
        pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t) or pa.types.is_large_binary(t)
    )


def check_parquet_types(path: str, schema: Any, columns: List[str], list_separators: Dict[str, str]) -> None:
    """Every column the conversion reads holds plain values (numbers, strings, bytes, booleans,
    dates...), or, for a multi-valued field, a list of them; else an `InputError` naming the file,
    the column and its type (a struct, a map or a list of lists has no one text value per row)."""
    import pyarrow as pa

    for name in columns:
        t = schema.field(name).type
        values = t.value_type if is_list_type(t) else t
        if pa.types.is_dictionary(values):
            values = values.value_type
        where = f"Parquet input {path}, column {name!r}"
        if pa.types.is_nested(values):
            what = "its elements are not plain values" if is_list_type(t) else "no one text value per row"
            raise InputError(
                f"{where} has the type {t} ({what}): a column holds plain values (numbers, strings, bytes) "
                "and a multi_valued one a list of plain values; flatten it into such columns"
            )
        if is_list_type(t) and name not in list_separators:
            raise InputError(f"{where} holds lists ({t}); declare it under multi_valued: in the schema")


def invalid_utf8(column: Any) -> npt.NDArray[np.bool_]:
    """Which values of a binary column (no nulls) are not UTF-8."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        pc.cast(column, pa.string())  # validates, in C++
        return np.zeros(len(column), bool)
    except pa.ArrowInvalid:
        pass
    bad = np.zeros(len(column), bool)
    for i, value in enumerate(column.to_numpy(zero_copy_only=False)):
        try:
            value.decode("utf-8")
        except UnicodeDecodeError:
            bad[i] = True
    return bad


def joined_list(column: Any, separator: str, where: str, name: str, first_row: int) -> Any:
    """A pyarrow list column -> one binary value per row: its elements (as text) joined by `separator`.

    An element that is not UTF-8 is kept as its bytes (the row is then rejected as invalid_utf8)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = pc.list_flatten(column)
    if not is_text_type(values.type):
        values = pc.cast(values, pa.string())
    values = pc.fill_null(pc.cast(values, pa.binary()), b"")
    clash = pc.match_substring(values, separator).to_numpy(zero_copy_only=False)
    if clash.any():
        row = int(pc.list_parent_indices(column).to_numpy()[np.argmax(clash)]) + first_row
        element = values[int(np.argmax(clash))].as_py().decode("utf-8", "backslashreplace")
        raise InputError(
            f"{where}, row {row}, column {name!r}: the element {element!r} holds the "
            f"separator {separator!r}; give the field another separator: in the schema's multi_valued settings"
        )
    offsets = pc.list_value_length(column).fill_null(0).to_numpy(zero_copy_only=False)
    bounds = np.concatenate([[0], np.cumsum(offsets)]).astype(np.int32)
    lists = pa.ListArray.from_arrays(pa.array(bounds, pa.int32()), values)
    return pc.binary_join(lists, separator.encode())
