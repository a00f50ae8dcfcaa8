"""Batch scoring of raw files through an export: the converter's reader and checks, the export's model.

Lines are read and validated by the converters' own reader and parser (`mezoo.data.raw`: gzip,
BOM, CRLF; a line with the wrong column count, invalid UTF-8, a bad integer or a bad number is
rejected with the converter's reason names; no label is read), so a file scores the rows a
conversion would have kept. Every line
read is either scored or rejected: `rows_read == rows_scored + rows_rejected` is checked.
Accepted rows go through the export's `predict_raw` signature, i.e. the same `RawToIds` tables
and model as `serving_default`.

The output is a TSV with a header, `file<TAB>line<TAB>probability`, one row per scored line in
input order; rejected lines go to `<output>.rejects.tsv` (file, line, reason, text).
"""

import contextlib
import dataclasses
import glob
import os
import re
import sys
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Sequence

import numpy as np

from mezoo.atomic import temporary_name
from mezoo.data.feature_spec import SPEC_NAME, FeatureSpec
from mezoo.directory_lock import directory_lock, remove_stale
from mezoo.disk_full import full_disk_reported
from mezoo.errors import BadInput

FORMATS = ("criteo", "avazu", "csv", "tsv")
CRITEO_COLUMNS = ["label"] + [f"I{i}" for i in range(1, 14)] + [f"C{i}" for i in range(1, 27)]


class ScoringError(BadInput):
    """An input or export that can't be scored, with the file named."""


def input_columns(fmt: str, path: str, delimiter: str, header: bool) -> List[str]:
    """Column names of a raw input: Criteo's are fixed (with or without the label column, told
    apart by the first line's column count); the others come from the header line."""
    from mezoo.data.raw.reader import read_header

    if fmt == "criteo":
        first = read_header(path)
        count = first.count(b"\t") + 1 if first else len(CRITEO_COLUMNS)
        if count == len(CRITEO_COLUMNS) - 1:
            return CRITEO_COLUMNS[1:]  # Criteo's test.txt: no label
        return CRITEO_COLUMNS
    if not header:
        raise ScoringError(f"{path}: {fmt} input needs a header line naming its columns")
    columns = read_header(path).decode("utf-8", "replace").split(delimiter)
    positions: Dict[str, List[int]] = {}
    for i, name in enumerate(columns):
        positions.setdefault(name, []).append(i + 1)
    twice = {name: p for name, p in positions.items() if len(p) > 1}
    if twice:
        described = "; ".join(f"{short(name)!r} in columns {', '.join(map(str, p))}" for name, p in twice.items())
        raise ScoringError(f"{path}: the header names {described}: which one is the model's? Rename the repeats")
    return columns


def short(text: str, limit: int = 40) -> str:
    """A column name as an error message shows it: at most `limit` characters."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe_columns(columns: Sequence[str], delimiter: str) -> str:
    """The input's columns for an error message: a count and the first few names, each cut short."""
    shown = ", ".join(short(c) for c in list(columns)[:12]) + (", ..." if len(columns) > 12 else "")
    text = f"its header has {len(columns)} column(s): {shown}"
    if len(columns) == 1:
        others = [name for d, name in ((",", "comma"), ("\t", "tab"), (";", "semicolon")) if d in columns[0]]
        if others and delimiter not in columns[0]:
            text += f" (one column holding {others[0]}s: is the format or --delimiter right?)"
    return text


def scoring_layout(spec: FeatureSpec, columns: Sequence[str], delimiter: str, header: bool, path: str):
    """The converter's `Layout` for these columns: the export's fields found by name, the label if present."""
    from mezoo.data.raw.layout import Layout

    index = {c: i for i, c in enumerate(columns)}
    missing = [n for n in spec.field_names + spec.numeric_names if n not in index]
    if missing:
        more = f" and {len(missing) - 8} more" if len(missing) > 8 else ""
        raise ScoringError(
            f"{path}: the model's columns {[short(m) for m in missing[:8]]}{more} are not in the input; "
            + describe_columns(columns, delimiter)
        )
    fields = [dict(f, column=index[f["name"]]) for f in spec.fields]
    numeric = [{"name": n, "column": index[n]} for n in spec.numeric_names]
    return Layout(
        num_columns=len(columns),
        label=None,  # scoring reads no label: a row with an empty (or no) label is scored all the same
        fields=fields,
        numeric=numeric,
        delimiter=delimiter,
        header=header,
        label_name=spec.label,
        columns=list(columns),
    )


def _text_layout(spec: FeatureSpec, inputs: Sequence[str], fmt: str, delimiter: Optional[str], header: Optional[bool]):
    if fmt not in FORMATS:
        raise ScoringError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
    from mezoo.data.raw.reader import check_inputs

    check_inputs(list(inputs))
    if delimiter is not None and len(delimiter) != 1:
        raise ScoringError(f"--delimiter must be one character, got {delimiter!r}")
    delimiter = delimiter or {"criteo": "\t", "avazu": ",", "csv": ",", "tsv": "\t"}[fmt]
    header = (fmt != "criteo") if header is None else header
    layouts = [scoring_layout(spec, input_columns(fmt, p, delimiter, header), delimiter, header, p) for p in inputs]
    for path, other in zip(inputs, layouts):
        if other.columns != layouts[0].columns:
            raise ScoringError(f"{path}: columns differ from {inputs[0]}'s (score them in separate runs)")
    return layouts[0]


def _accepted_chunks(files, layout, accept_unterminated: bool = False):
    """(chunk, reason per line, the model's raw columns of the accepted rows, dense) through the converter's parser."""
    from mezoo.data.raw.parser import make_tf_parse
    from mezoo.data.raw.reader import read_text_chunks
    from mezoo.data.raw.threads import ordered_map

    field_columns = [f["column"] for f in layout.fields]
    parse = make_tf_parse(layout, accept_unterminated)
    chunks = read_text_chunks(files, layout.header)
    for chunk, (reason, rows, dense) in ordered_map(parse, chunks, workers=2):
        yield chunk, reason, rows.numpy()[:, field_columns], dense


def read_raw_rows(spec: FeatureSpec, path: str, fmt: str, count: int) -> List[Dict[str, object]]:
    """The first `count` lines of a raw file that the converter would accept, as raw rows (dicts)."""
    from mezoo.data.raw.reader import FileInfo

    layout = _text_layout(spec, [path], fmt, None, None)
    rows: List[Dict[str, object]] = []
    for _, _, raw, dense in _accepted_chunks([FileInfo(path)], layout):
        for values, numbers in zip(raw, dense):
            row = {name: (v.decode("utf-8") if v else None) for name, v in zip(spec.field_names, values)}
            row.update(zip(spec.numeric_names, (float(x) for x in numbers)))
            rows.append(row)
            if len(rows) == count:
                return rows
    if not rows:
        raise ScoringError(f"{path}: no line the converter would accept")
    return rows


def distinct_inputs(inputs: Sequence[str], verbose: bool = True) -> List[str]:
    """The inputs with a file given twice (two paths or a glob naming one file) kept once."""
    seen: Dict[str, str] = {}
    kept = []
    for path in inputs:
        real = os.path.realpath(path)
        if real in seen:
            if verbose:
                print(f"warning: input {path} is the same file as {seen[real]}: scored once", file=sys.stderr)
            continue
        seen[real] = path
        kept.append(path)
    return kept


def check_output_paths(output: Path, rejects: Path, inputs: Sequence[str]) -> None:
    """Refuses an output that would replace an input (or be one), a directory, or a missing folder."""
    if output.is_dir():
        raise ScoringError(f"--output {output} is a directory: give the path of the TSV file to write")
    if not output.parent.is_dir():
        raise ScoringError(f"--output {output}: the folder {output.parent} does not exist")
    real_inputs = {os.path.realpath(p): p for p in inputs}
    for target, what in ((output, "--output"), (rejects, "the rejects file")):
        if os.path.realpath(target) in real_inputs:
            raise ScoringError(
                f"{what} {target} is the input {real_inputs[os.path.realpath(target)]}: scoring would replace "
                "it; give another --output"
            )


@contextlib.contextmanager
def output_lock(output: Path) -> Iterator[None]:
    """An exclusive lock on `<output>` while it is written (`.<output>.lock` beside it, kept);
    `DirectoryBusy` if another mezoo.predict holds it."""
    hint = "wait for it, or choose another --output"
    with directory_lock(output.parent, f"mezoo.predict (--output {output.name})", hint, name=f".{output.name}.lock"):
        yield


def remove_dead_partials(output: Path, rejects: Path) -> List[str]:
    """The temporary files of `output` and its rejects file that a killed (or failed) run left.

    Call with `output_lock(output)` held: it covers this output's names only (another output in
    the folder may be written right now), i.e. `mezoo.atomic.temporary_name`'s
    `.<name>.<pid>.<thread>.partial` with exactly this name.
    """
    patterns = [re.compile(re.escape(f".{target.name}.") + r"\d+\.\d+\.partial") for target in (output, rejects)]
    names = [p.name for p in output.parent.iterdir() if any(pattern.fullmatch(p.name) for pattern in patterns)]
    return remove_stale(output.parent, [glob.escape(name) for name in names])


@dataclasses.dataclass
class Tally:
    """What a scoring run has seen: lines scored, lines rejected per reason, the first reject."""

    scored: int = 0
    rejected: Dict[str, int] = dataclasses.field(default_factory=dict)
    first_reject: str = ""

    @property
    def num_rejected(self) -> int:
        return sum(self.rejected.values())


def score_files(
    export_dir,
    inputs: Sequence[str],
    fmt: str,
    output,
    delimiter: Optional[str] = None,
    header: Optional[bool] = None,
    batch_size: int = 8192,
    accept_unterminated_last_line: bool = False,
    verbose: bool = True,
) -> Dict:
    """Scores raw `inputs` through the export in `export_dir`; returns the summary (counts per reason).

    A last line without its newline may have been cut: it is rejected as `truncated_last_line`,
    as the converter does, unless `accept_unterminated_last_line`. Nothing is written unless
    every line was read and at least one was scored.
    """
    import tensorflow as tf

    from mezoo.data.raw.reader import FileInfo

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ScoringError(f"--batch_size must be a whole number >= 1, got {batch_size!r}")
    inputs = distinct_inputs(inputs, verbose)
    output = Path(output)
    rejects_path = output.with_name(output.name + ".rejects.tsv")
    check_output_paths(output, rejects_path, inputs)
    export_dir = Path(export_dir)
    spec = export_spec(export_dir)
    layout = _text_layout(spec, inputs, fmt, delimiter, header)
    predict = tf.saved_model.load(str(export_dir)).signatures["predict_raw"]
    files = [FileInfo(p) for p in inputs]
    start = time.time()

    def score(out, rej) -> Tally:
        tally = _score_into(out, rej, files, layout, predict, batch_size, accept_unterminated_last_line, verbose)
        rows_read = sum(f.lines for f in files)
        if rows_read and not tally.scored:
            reasons = ", ".join(f"{r} {c:,}" for r, c in tally.rejected.items() if c)
            raise ScoringError(
                f"no line of {', '.join(inputs)} could be scored ({reasons}; first: {tally.first_reject}): "
                f"does --format {fmt} match the files and the export (it reads {len(layout.fields)} fields: "
                f"{', '.join(spec.field_names[:5])}{', ...' if len(spec.field_names) > 5 else ''})? "
                "Nothing written"
            )
        return tally

    tally = write_whole(output, rejects_path, score, sum_lines=lambda: sum(f.lines for f in files), verbose=verbose)
    return scoring_summary(tally, sum(f.lines for f in files), output, rejects_path, time.time() - start, verbose)


def export_spec(export_dir: Path) -> FeatureSpec:
    """The feature spec a mezoo.export version directory carries in `assets.extra/`."""
    spec_path = export_dir / "assets.extra" / SPEC_NAME
    if not spec_path.exists():
        raise ScoringError(
            f"{spec_path} does not exist: is {export_dir} a mezoo.export version directory (<output>/<version>)?"
        )
    return FeatureSpec.load(str(spec_path))


def write_whole(output: Path, rejects_path: Path, score: Callable, sum_lines: Callable, verbose: bool) -> Tally:
    """Runs `score(out, rejects)` into private temporary files under an exclusive lock on the output, and
    renames them into place only if every line read was scored or rejected: nothing half-written."""
    tmp, rejects_tmp = temporary_name(output), temporary_name(rejects_path)
    full = (
        f"no space left on the device of {output.parent} while writing --output {output.name}: free space there, "
        "or choose an --output on another disk; nothing was written (an earlier output is kept)"
    )
    with full_disk_reported(full), output_lock(output):
        removed = remove_dead_partials(output, rejects_path)
        if removed and verbose:
            print(f"removed what a dead mezoo.predict left: {', '.join(removed)}", file=sys.stderr)
        try:
            with open(tmp, "w", encoding="utf-8") as out, open(rejects_tmp, "w", encoding="utf-8") as rej:
                tally = score(out, rej)
            rows_read, written = sum_lines(), _data_lines(tmp)
            if rows_read != tally.scored + tally.num_rejected or written != tally.scored:
                raise ScoringError(
                    f"internal error: {rows_read} lines read, {tally.scored} scored ({written} written), "
                    f"{tally.num_rejected} rejected"
                )
            os.replace(tmp, output)
            os.replace(rejects_tmp, rejects_path)
        finally:
            for p in (tmp, rejects_tmp):
                with contextlib.suppress(OSError):
                    p.unlink()
    return tally


def scoring_summary(tally: Tally, rows_read: int, output: Path, rejects_path: Path, seconds: float, verbose: bool):
    """The summary `score_files` returns (and prints, with `verbose`)."""
    rejected_counts = {r: c for r, c in tally.rejected.items() if c}
    summary = {
        "rows_read": rows_read,
        "rows_scored": tally.scored,
        "rows_rejected": tally.num_rejected,
        "rejected": rejected_counts,
        "output": str(output),
        "rejects": str(rejects_path),
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows_read / max(seconds, 1e-9)),
    }
    if verbose:
        n_rejected, scored = tally.num_rejected, tally.scored
        print(
            f"read {rows_read:,} rows: scored {scored:,}, rejected {n_rejected:,} "
            f"[rows_read {rows_read} == rows_scored {scored} + rows_rejected {n_rejected}: OK]"
            + (
                " (" + ", ".join(f"{r} {c:,}" for r, c in rejected_counts.items()) + f"; see {rejects_path})"
                if n_rejected
                else ""
            )
            + f"; {summary['rows_per_s']:,} rows/s; probabilities in {output}",
            flush=True,
        )
    return summary


def _data_lines(path: Path) -> int:
    """Lines of a written output TSV after its header."""
    with open(path, "rb") as handle:
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b"")) - 1


def _score_into(out, rej, files, layout, predict, batch_size: int, accept_unterminated: bool, verbose: bool) -> Tally:
    """Every line of `files`: its probability to `out` or its reason to `rej`, in input order."""
    import tensorflow as tf

    from mezoo.data.raw.rules import REASONS, REJECTS_HEADER, escape_line

    tally = Tally(rejected={r: 0 for r in REASONS})
    numeric = bool(layout.numeric)
    start, last_report = time.time(), 0.0
    tty = sys.stderr.isatty()
    carriage = "\r" if tty else ""  # one progress line redrawn on a terminal, a line each 10 s in a log
    out.write("file\tline\tprobability\n")
    rej.write(REJECTS_HEADER)
    for chunk, reason, raw, dense in _accepted_chunks(files, layout, accept_unterminated):
        path = files[chunk.file_index].path
        bad = np.nonzero(reason)[0]
        if len(bad):
            lines = chunk.data.split(b"\n")
            for i in bad:
                name = REASONS[reason[i] - 1]
                tally.rejected[name] += 1
                tally.first_reject = tally.first_reject or f"{path} line {chunk.first_line + i}: {name}"
                rej.write(f"{path}\t{chunk.first_line + i}\t{name}\t{escape_line(lines[i])}\n")
        kept = np.nonzero(reason == 0)[0]
        probabilities = []
        for s in range(0, len(raw), batch_size):
            request = {"raw": tf.constant(raw[s : s + batch_size])}
            if numeric:
                request["dense"] = tf.constant(dense[s : s + batch_size])
            probabilities.append(predict(**request)["probability"].numpy().reshape(-1))
        probability = np.concatenate(probabilities) if probabilities else np.zeros(0)
        if len(probability) != len(kept):
            raise ScoringError(f"internal error: {len(probability)} probabilities for {len(kept)} rows of {path}")
        out.writelines(f"{path}\t{chunk.first_line + i}\t{p:.8g}\n" for i, p in zip(kept, probability))
        tally.scored += len(kept)
        now = time.time()
        if verbose and (now - last_report > (0.5 if tty else 10.0)):
            last_report = now
            print(
                f"{carriage}scored {tally.scored:,} rows ({tally.scored / max(now - start, 1e-9):,.0f} rows/s), "
                f"rejected {tally.num_rejected:,}",
                end="" if tty else "\n",
                file=sys.stderr,
                flush=True,
            )
    if verbose and tty:
        print(file=sys.stderr)
    return tally
