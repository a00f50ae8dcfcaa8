"""The first pass over the input: every line read, accepted or rejected, its tokens counted, its row kept.

A chunk whose every line is valid, and that pyarrow reads exactly as the TF parser does, is
split, validated and counted on Arrow (`arrow_parse.first_pass_chunk`); any other chunk goes
through the TF parser (`mezoo.data.raw.parser`), which decides each line's reason, and its
accepted lines are counted on Arrow. Rejected lines go to `rejects.tsv` with file and line
number (`RejectLog`). Then the checks: every line accepted or rejected, no byte-identical
inputs, some valid rows; after the shards, rows read == written + rejected.
"""

import dataclasses
import functools
import os
from typing import Dict, Iterator, List, Sequence, Set

import numpy as np

from mezoo.data.raw.layout import Layout
from mezoo.data.raw.parser import make_tf_parse
from mezoo.data.raw.reader import Chunk, FileInfo, read_parquet_chunks, read_text_chunks
from mezoo.data.raw.rules import LABEL_VALUES, REASONS, REJECTS_HEADER, SPLITS, escape_line
from mezoo.data.raw.threads import ordered_map
from tfrecord_tools.convert.arrow_parse import first_pass_chunk, pack_values
from tfrecord_tools.convert.counting import TokenCounter
from tfrecord_tools.convert.errors import ConversionError
from tfrecord_tools.convert.options import Log, Options
from tfrecord_tools.convert.scratch import keep_chunk


def vocabulary_splits(files: List[FileInfo], opts: Options) -> Set[str]:
    """The splits whose rows are counted for the vocabularies: the schema's `vocabulary_splits`, else train with
    given splits, else all."""
    given_splits = any(f.split for f in files)
    return set(opts.vocabulary_splits or (["train"] if given_splits else SPLITS))


@dataclasses.dataclass
class Counted:
    """What the first pass (`validate_and_count`) leaves for the later stages."""

    counters: List[TokenCounter]  # per field: token counts over the vocabulary splits
    valid_per_file: List[int]  # accepted rows per input file
    rejected: Dict[str, int]  # rejected lines per reason (every reason, zeros included)
    first_rejects: List[str]  # the first three, for the message when nothing is accepted
    chunk_dir: str  # the kept chunks (`keep_chunk`), numbered in input order
    chunk_rows: List[int]  # accepted rows per kept chunk
    numeric: bool  # whether the rows carry dense values

    @property
    def num_valid(self) -> int:
        return sum(self.valid_per_file)


def read_chunks(files: List[FileInfo], layout: Layout, opts: Options, fmt: str) -> Iterator[Chunk]:
    if fmt == "parquet":
        if layout.columns is None:
            raise ConversionError("internal error: a Parquet layout needs its column names")
        separators = {layout.columns[f["column"]]: f["separator"] for f in layout.fields if "separator" in f}
        return read_parquet_chunks(
            files, layout.columns, batch_rows=max(opts.chunk_bytes // 128, 1024), list_separators=separators
        )
    return read_text_chunks(files, layout.header, opts.chunk_bytes)


def validate_and_count(
    files: List[FileInfo],
    layout: Layout,
    opts: Options,
    fmt: str,
    fields: List[Dict],
    vocab_splits: Set[str],
    work: str,
) -> Counted:
    """Every line parsed and accepted or rejected; token counts; accepted rows kept.

    Rejected lines go to `work/rejects.tsv` (`RejectLog`: file, line, reason, text; the first
    `max_rejects_logged`) and are counted per reason, overall and on their FileInfo. Each
    chunk's accepted rows are kept (`keep_chunk`, in `work/.chunks`) as, per field, the chunk's
    distinct raw values plus each row's index into them: `transform_and_spool` then runs the
    transform on the distinct values and gathers, instead of reading and parsing the input again.

    Args:
        files: the inputs; their `rejected` counts are filled in.
        layout: the raw rows' layout.
        opts: options (chunk size, parallelism, rejects logged, unterminated last lines).
        fmt: "text" or "parquet".
        fields: the layout's field dicts.
        vocab_splits: the splits whose rows are counted (with given splits).
        work: the scratch directory.
    """
    given_splits = any(f.split for f in files)
    is_int = [f.get("source") == "integer" for f in fields]
    counted = Counted(
        counters=[TokenCounter(i) for i in is_int],
        valid_per_file=[0] * len(files),
        rejected={r: 0 for r in REASONS},
        first_rejects=[],
        chunk_dir=os.path.join(work, ".chunks"),
        chunk_rows=[],
        numeric=bool(layout.numeric),
    )
    os.makedirs(counted.chunk_dir)
    first_pass = functools.partial(
        first_pass_chunk,
        fields=fields,
        layout=layout,
        label_values=LABEL_VALUES,
        tf_parse=make_tf_parse(layout, opts.accept_unterminated_last_line),
        accept_unterminated=opts.accept_unterminated_last_line,
    )
    results = ordered_map(first_pass, read_chunks(files, layout, opts, fmt), max(1, opts.parallel))
    with RejectLog(os.path.join(work, "rejects.tsv"), opts.max_rejects_logged, counted) as rejects:
        for chunk, res in results:
            info = files[chunk.file_index]
            counted.valid_per_file[chunk.file_index] += len(res.reason) - rejects.add(chunk, res.reason, info)
            base = os.path.join(counted.chunk_dir, str(len(counted.chunk_rows)))
            keep_chunk(base, res.labels, res.dense, res.index, pack_values(res.values), bool(layout.numeric))
            counted.chunk_rows.append(len(res.labels))
            if given_splits and info.split not in vocab_splits:
                continue
            for counter, keys, counts in zip(counted.counters, res.keys, res.counts):
                counter.add(keys, counts)
    return counted


def chunk_rejects(chunk: Chunk, reason: np.ndarray):
    """(index in chunk, line number, reason name, line bytes) of each rejected line of a chunk."""
    bad = np.nonzero(reason)[0]
    if not len(bad):
        return
    lines = chunk.data.split(b"\n") if chunk.data is not None else None
    columns = chunk.columns or []  # (Parquet chunks have columns, text chunks data)
    for idx in bad:
        text = lines[idx] if lines is not None else b"\t".join(cell_bytes(c[idx]) for c in columns)
        yield int(idx), chunk.first_line + int(idx), REASONS[reason[idx] - 1], text


def cell_bytes(value) -> bytes:
    """A Parquet row's cell as it goes into rejects.tsv: its bytes (escaped there as a text line's)."""
    return value if isinstance(value, bytes) else str(value).encode()


class RejectLog:
    """`rejects.tsv` (file, line, reason, text; at most `limit` lines, -1: all) and the reject
    counts: per reason in `counted.rejected` and on each line's FileInfo, the first three in
    `counted.first_rejects`. A context manager: the file is closed on leaving."""

    def __init__(self, path: str, limit: int, counted: Counted):
        self.limit, self.counted, self.logged = limit, counted, 0
        self.file = open(path, "w", encoding="utf-8")
        self.file.write(REJECTS_HEADER)

    def __enter__(self) -> "RejectLog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.file.close()

    def add(self, chunk: Chunk, reason: np.ndarray, info: FileInfo) -> int:
        """Records a chunk's rejected lines (`reason` != 0); returns how many there were."""
        n_bad = 0
        for _, line_no, name, text in chunk_rejects(chunk, reason):
            n_bad += 1
            self.counted.rejected[name] += 1
            info.rejected[name] = info.rejected.get(name, 0) + 1
            if len(self.counted.first_rejects) < 3:
                self.counted.first_rejects.append(f"{info.path} line {line_no}: {name}")
            if self.limit < 0 or self.logged < self.limit:
                self.file.write(f"{info.path}\t{line_no}\t{name}\t{escape_line(text)}\n")
                self.logged += 1
        return n_bad


def check_first_pass(
    files: List[FileInfo],
    valid_per_file: Sequence[int],
    rejected: Dict[str, int],
    first_rejects: List[str],
    opts: Options,
    log: Log,
) -> None:
    """Every line read was accepted or rejected; then `check_accepted` (empty inputs
    noted, duplicate inputs refused, no valid rows an error)."""
    rows_read, n_valid, n_rejected = sum(f.lines for f in files), sum(valid_per_file), sum(rejected.values())
    if rows_read != n_valid + n_rejected:
        raise ConversionError(f"internal error: {rows_read} lines read, {n_valid} accepted, {n_rejected} rejected")
    check_accepted(files, rejected, n_valid, rows_read, first_rejects, opts, log)


def check_accepted(
    files: List[FileInfo],
    rejected: Dict[str, int],
    n_valid: int,
    rows_read: int,
    first_rejects: List[str],
    opts: Options,
    log,
) -> None:
    """After the first pass: empty inputs noted, byte-identical inputs refused, no valid rows an error."""
    for f in files:
        if f.empty:
            log(f"warning: input {f.path} is empty")
    check_distinct_contents(files, opts.allow_duplicate_inputs)  # the hashes are known once read
    if n_valid == 0:
        reasons = ", ".join(f"{r} {n:,}" for r, n in rejected.items() if n)
        raise ConversionError(
            f"no valid rows in {', '.join(f.path for f in files)} ({rows_read} lines read, all "
            f"rejected: {reasons or 'no lines'}; first: {'; '.join(first_rejects) or '-'}); "
            f"nothing was written to {opts.output}"
        )


def check_written(files: List[FileInfo], written: Dict[str, int], rejected: Dict[str, int]) -> None:
    """After the shards, before the spec: rows read == rows written + rows rejected."""
    rows_read, n_written, n_rejected = sum(f.lines for f in files), sum(written.values()), sum(rejected.values())
    if rows_read != n_written + n_rejected:
        raise ConversionError(f"rows read {rows_read} != written {n_written} + rejected {n_rejected}")


def unique_inputs(files: List[FileInfo], log) -> List[FileInfo]:
    """`files` without repeats of one file (by real path): a glob and a path naming the same file."""
    seen: Dict[str, FileInfo] = {}
    out = []
    for f in files:
        real = os.path.realpath(f.path)
        if real in seen:
            if seen[real].split != f.split:
                raise ConversionError(
                    f"input {f.path} is given for split {f.split!r} and as {seen[real].path} for "
                    f"split {seen[real].split!r}: one file can't be in two splits"
                )
            log(f"warning: input {f.path} is the same file as {seen[real].path}; read once")
            continue
        seen[real] = f
        out.append(f)
    return out


def check_distinct_contents(files: List[FileInfo], allow: bool) -> None:
    """Refuses byte-identical inputs (equal sha256, empty files aside): a copy would be read twice."""
    by_hash: Dict[str, List[str]] = {}
    for f in files:
        if f.sha256 and f.lines:
            by_hash.setdefault(f.sha256, []).append(f.path)
    same = [paths for paths in by_hash.values() if len(paths) > 1]
    if same and not allow:
        raise ConversionError(
            "inputs with identical contents (sha256) would be converted twice: "
            + "; ".join(" = ".join(paths) for paths in same)
            + ". Remove the copies, or pass --allow_duplicate_inputs if you mean it"
        )
