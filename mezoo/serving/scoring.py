"""Batch scoring of raw files through an export: the converter's reader and checks, the export's model.

Lines are read and validated exactly as `tfrecord_tools` reads them (gzip, BOM, CRLF; a line
with the wrong column count, invalid UTF-8, a bad label or a bad integer is rejected with the
converter's reason names), so a file scores the rows a conversion would have kept. Every line
read is either scored or rejected: `rows_read == rows_scored + rows_rejected` is checked.
Accepted rows go through the export's `predict_raw` signature, i.e. the same `RawToIds` tables
and model as `serving_default`.

The output is a TSV with a header, `file<TAB>line<TAB>probability`, one row per scored line in
input order; rejected lines go to `<output>.rejects.tsv` (file, line, reason, text).
"""

import os
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from mezoo.data.feature_spec import FeatureSpec

FORMATS = ("criteo", "avazu", "csv", "tsv")
CRITEO_COLUMNS = ["label"] + [f"I{i}" for i in range(1, 14)] + [f"C{i}" for i in range(1, 27)]


class ScoringError(Exception):
    """An input or export that can't be scored, with the file named."""


def input_columns(fmt: str, path: str, delimiter: str, header: bool) -> List[str]:
    """Column names of a raw input: Criteo's are fixed (with or without the label column, told
    apart by the first line's column count); the others come from the header line."""
    from tfrecord_tools.reader import read_header

    if fmt == "criteo":
        first = read_header(path)
        count = first.count(b"\t") + 1 if first else len(CRITEO_COLUMNS)
        if count == len(CRITEO_COLUMNS) - 1:
            return CRITEO_COLUMNS[1:]  # Criteo's test.txt: no label
        return CRITEO_COLUMNS
    if not header:
        raise ScoringError(f"{path}: {fmt} input needs a header line naming its columns")
    return read_header(path).decode("utf-8", "replace").split(delimiter)


def scoring_layout(spec: FeatureSpec, columns: Sequence[str], delimiter: str, header: bool, path: str):
    """The converter's `Layout` for these columns: the export's fields found by name, the label if present."""
    from tfrecord_tools.core import Layout

    index = {c: i for i, c in enumerate(columns)}
    missing = [n for n in spec.field_names + spec.numeric_names if n not in index]
    if missing:
        raise ScoringError(
            f"{path}: columns {missing[:10]} of the model are not among the input's columns {list(columns)[:50]}"
        )
    fields = [dict(f, column=index[f["name"]]) for f in spec.fields]
    numeric = [{"name": n, "column": index[n]} for n in spec.numeric_names]
    return Layout(
        num_columns=len(columns),
        label=index.get(spec.label),
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
    from tfrecord_tools.reader import check_inputs

    check_inputs(list(inputs))
    delimiter = delimiter or {"criteo": "\t", "avazu": ",", "csv": ",", "tsv": "\t"}[fmt]
    header = (fmt != "criteo") if header is None else header
    layouts = [scoring_layout(spec, input_columns(fmt, p, delimiter, header), delimiter, header, p) for p in inputs]
    for path, other in zip(inputs, layouts):
        if other.columns != layouts[0].columns:
            raise ScoringError(f"{path}: columns differ from {inputs[0]}'s (score them in separate runs)")
    return layouts[0]


def _accepted_chunks(files, layout, accept_unterminated: bool = False):
    """(chunk, reason per line, the model's raw columns of the accepted rows, dense) through the converter's parser."""
    from tfrecord_tools.core import make_tf_parse, ordered_map
    from tfrecord_tools.reader import read_text_chunks

    field_columns = [f["column"] for f in layout.fields]
    parse = make_tf_parse(layout, accept_unterminated)
    chunks = read_text_chunks(files, layout.header)
    for chunk, (reason, rows, dense) in ordered_map(parse, chunks, workers=2):
        yield chunk, reason, rows.numpy()[:, field_columns], dense


def read_raw_rows(spec: FeatureSpec, path: str, fmt: str, count: int) -> List[Dict[str, object]]:
    """The first `count` lines of a raw file that the converter would accept, as raw rows (dicts)."""
    from tfrecord_tools.reader import FileInfo

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
    as the converter does, unless `accept_unterminated_last_line`.
    """
    import tensorflow as tf

    from tfrecord_tools.core import REASONS, _escape_line
    from tfrecord_tools.reader import FileInfo

    export_dir = Path(export_dir)
    spec_path = export_dir / "assets.extra" / "feature_spec.json"
    if not spec_path.exists():
        raise ScoringError(
            f"{spec_path} does not exist: is {export_dir} a mezoo.export version directory (<output>/<version>)?"
        )
    spec = FeatureSpec.load(str(spec_path))
    layout = _text_layout(spec, inputs, fmt, delimiter, header)
    predict = tf.saved_model.load(str(export_dir)).signatures["predict_raw"]
    numeric = bool(layout.numeric)
    files = [FileInfo(p) for p in inputs]
    rejected = {r: 0 for r in REASONS}
    output = Path(output)
    rejects_path = output.with_name(output.name + ".rejects.tsv")
    scored, start, last_report = 0, time.time(), 0.0
    tty = sys.stderr.isatty()
    carriage = "\r" if tty else ""  # one progress line redrawn on a terminal, a line each 10 s in a log
    tmp, rejects_tmp = output.with_name(output.name + ".tmp"), rejects_path.with_name(rejects_path.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as out, open(rejects_tmp, "w", encoding="utf-8") as rej:
            out.write("file\tline\tprobability\n")
            rej.write("file\tline\treason\ttext\n")
            for chunk, reason, raw, dense in _accepted_chunks(files, layout, accept_unterminated_last_line):
                path = files[chunk.file_index].path
                bad = np.nonzero(reason)[0]
                if len(bad):
                    lines = chunk.data.split(b"\n")
                    for i in bad:
                        name = REASONS[reason[i] - 1]
                        rejected[name] += 1
                        rej.write(f"{path}\t{chunk.first_line + i}\t{name}\t{_escape_line(lines[i])}\n")
                kept = np.nonzero(reason == 0)[0]
                probabilities = []
                for s in range(0, len(raw), batch_size):
                    inputs_ = {"raw": tf.constant(raw[s : s + batch_size])}
                    if numeric:
                        inputs_["dense"] = tf.constant(dense[s : s + batch_size])
                    probabilities.append(predict(**inputs_)["probability"].numpy().reshape(-1))
                probability = np.concatenate(probabilities) if probabilities else np.zeros(0)
                out.writelines(f"{path}\t{chunk.first_line + i}\t{p:.8g}\n" for i, p in zip(kept, probability))
                scored += len(kept)
                now = time.time()
                if verbose and (now - last_report > (0.5 if tty else 10.0)):
                    last_report = now
                    print(
                        f"{carriage}scored {scored:,} rows ({scored / max(now - start, 1e-9):,.0f} rows/s), "
                        f"rejected {sum(rejected.values()):,}",
                        end="" if tty else "\n",
                        file=sys.stderr,
                        flush=True,
                    )
        rows_read = sum(f.lines for f in files)
        n_rejected = sum(rejected.values())
        if rows_read != scored + n_rejected:
            raise ScoringError(f"internal error: {rows_read} lines read, {scored} scored, {n_rejected} rejected")
        os.replace(tmp, output)
        os.replace(rejects_tmp, rejects_path)
    except BaseException:
        for p in (tmp, rejects_tmp):
            if p.exists():
                p.unlink()
        raise
    seconds = time.time() - start
    rejected_counts = {r: c for r, c in rejected.items() if c}
    summary = {
        "rows_read": rows_read,
        "rows_scored": scored,
        "rows_rejected": n_rejected,
        "rejected": rejected_counts,
        "output": str(output),
        "rejects": str(rejects_path),
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows_read / max(seconds, 1e-9)),
    }
    if verbose:
        if tty:
            print(file=sys.stderr)
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
