"""Benchmark: Criteo-format conversion end to end (vocabulary pass included), rows per second.

Prints the command, then one line of figures: median (and min/max) rows/s over `--repeats`
conversions of `--rows` generated Criteo rows (tfrecord_tools.synthetic, seed 0; generated
once into `--workdir` and reused), with the median seconds of each stage so the bounding
one is visible: `validate_count` (`first_pass.validate_and_count`: parse + validate + count tokens,
keeping each chunk's distinct values and row indices), `transform` (`transform.transform_and_spool`:
the mezoo.data raw -> id transform on those distinct values + spooling ids per shard) and
`write` (`records.write_shards`: order, serialise in bulk, gzip level 1). Each stage's own rate
is rows / its seconds.

The parse limit, measured in the same run on the same file: `pyarrow.csv.read_csv` with every
column read as a string (multi-threaded, no quoting), median rows/s over the same repeats;
the converter's ratio to it is printed (the goal in issue 15: >= 35%). Then, when Apache
Beam is installed (the `beam` extra), one conversion of the same file by `tfrecord_tools.beam`
on the DirectRunner. `--profile` first times the parts of the first pass on one thread over
the first 64 MB of the file (read and UTF-8 check, field split, split + validation, + counting),
in TF ops (`mezoo.data.raw.parser.make_parser`, `counting.make_count_fn`: what the Beam converter runs, and
the single-machine converter on chunks with bad lines) and on Arrow (`tfrecord_tools.convert.arrow_parse`: what
the single-machine converter runs on wholly valid chunks).

    python benchmarks/convert.py                # 1,000,000 rows, 3 repeats
    python benchmarks/convert.py --profile      # ... and where the first pass spends its time
    python benchmarks/convert.py --smoke        # CI: 20,000 rows, 1 repeat
"""

import argparse
import os
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks.common import add_write_flag, published  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "mezoo-bench-convert"))
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--smoke", action="store_true", help="20,000 rows, 1 repeat (CI)")
    parser.add_argument("--profile", action="store_true", help="time the first pass's parts on one thread")
    parser.add_argument("--no_beam", action="store_true", help="skip the Beam DirectRunner conversion")
    add_write_flag(parser, "convert")
    args = parser.parse_args()
    with published(args.write, "Conversion throughput"):
        report(args)


def report(args) -> None:
    """Runs the benchmark and prints its figures."""
    if args.smoke:
        args.rows, args.repeats = 20_000, 1
    print("command:", " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv), flush=True)

    from mezoo.data.raw.reader import FileInfo
    from tfrecord_tools.convert.options import Options
    from tfrecord_tools.convert.pipeline import convert
    from tfrecord_tools.formats import criteo_layout
    from tfrecord_tools.synthetic import generate

    os.makedirs(args.workdir, exist_ok=True)
    source = os.path.join(args.workdir, f"criteo_{args.rows}.txt")
    if not os.path.exists(source):
        generate("criteo", args.rows, source, seed=0)
    size = os.path.getsize(source)
    if args.profile:
        profile(source)
    totals, stages = [], {"validate_count": [], "transform": [], "write": []}
    arrow = []
    for r in range(args.repeats):
        out = os.path.join(args.workdir, "out")
        t = time.perf_counter()
        summary = convert(
            [FileInfo(source)],
            criteo_layout(),
            Options(output=out, dataset="criteo", min_count=10, parallel=args.parallel, verbose=False),
        )
        totals.append(time.perf_counter() - t)
        timing = summary["timing"]
        stages["validate_count"].append(timing["pass1_validate_count_s"])
        stages["transform"].append(timing["pass2_transform_s"])
        stages["write"].append(timing["write_shards_s"])
        assert summary["rows_written"] == args.rows
        arrow.append(pyarrow_seconds(source))
    rates = [args.rows / t for t in totals]
    arrow_rates = [args.rows / t for t in arrow]
    med = {k: statistics.median(v) for k, v in stages.items()}
    print(
        f"convert: {args.rows:,} Criteo rows ({size / 2**20:.0f} MiB TSV), {args.repeats} repeats, "
        f"{os.cpu_count()} CPUs: median {statistics.median(rates):,.0f} rows/s "
        f"(min {min(rates):,.0f}, max {max(rates):,.0f}); median stage s (rows/s): "
        + ", ".join(f"{k} {v:.2f} ({args.rows / max(v, 1e-9):,.0f})" for k, v in med.items()),
        flush=True,
    )
    print(
        f"pyarrow.csv.read_csv (all columns strings), same file, after each conversion: median "
        f"{statistics.median(arrow_rates):,.0f} rows/s (min {min(arrow_rates):,.0f}, max {max(arrow_rates):,.0f}); "
        f"converter / pyarrow = {statistics.median(rates) / statistics.median(arrow_rates):.1%} (goal >= 35%)",
        flush=True,
    )
    if not args.no_beam:
        beam_rate(source, args.rows, os.path.join(args.workdir, "out-beam"))


def pyarrow_seconds(source: str) -> float:
    """Seconds for pyarrow to read the Criteo TSV with every one of its 40 columns as a string."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    names = [f"c{i}" for i in range(40)]
    t = time.perf_counter()
    table = pacsv.read_csv(
        source,
        read_options=pacsv.ReadOptions(column_names=names, block_size=8 << 20),
        parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False),
        convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}),
    )
    seconds = time.perf_counter() - t
    del table
    return seconds


def beam_rate(source: str, rows: int, out: str) -> None:
    try:
        import apache_beam  # noqa: F401  (only checks that the extra is installed)
    except ImportError:
        print("beam: apache-beam not installed (pip install 'mezoo[beam]'): skipped", flush=True)
        return
    from mezoo.data.raw.reader import FileInfo
    from tfrecord_tools import beam
    from tfrecord_tools.convert.options import Options
    from tfrecord_tools.formats import criteo_layout

    t = time.perf_counter()
    summary = beam.run(
        [FileInfo(source)],
        criteo_layout(),
        Options(output=out, dataset="criteo", min_count=10, verbose=False),
        ["--runner=DirectRunner", "--direct_num_workers=1"],
    )
    seconds = time.perf_counter() - t
    assert summary["rows_written"] == rows
    print(
        f"beam (tfrecord_tools.beam, DirectRunner, 1 worker), same file, 1 run: {rows / seconds:,.0f} rows/s "
        f"({seconds:.1f} s, pipeline start-up included)",
        flush=True,
    )


def profile(source: str, limit: int = 64 << 20) -> None:
    """Seconds of the first pass's parts over the first `limit` bytes, one thread, no tf.data."""
    import numpy as np
    import tensorflow as tf

    from mezoo.data.raw.parser import make_parser
    from mezoo.data.raw.reader import FileInfo, read_text_chunks
    from tfrecord_tools.convert.counting import make_count_fn
    from tfrecord_tools.formats import criteo_layout

    layout = criteo_layout()
    t = time.perf_counter()
    chunks = []
    for chunk in read_text_chunks([FileInfo(source)], False, 8 << 20):
        chunks.append(chunk)
        if sum(len(c.data or b"") for c in chunks) >= limit:
            break
    read_s = time.perf_counter() - t
    rows = sum(c.num_lines for c in chunks)
    parse_text, _ = make_parser(layout)
    count_fn = make_count_fn([dict(f) for f in layout.fields])
    sig = [tf.TensorSpec([], tf.string), tf.TensorSpec([None], tf.bool), tf.TensorSpec([], tf.bool)]

    @tf.function(input_signature=sig[:1])
    def split_only(data):
        cells = tf.strings.split(tf.strings.split(data, "\n"), "\t")
        return tf.reshape(cells.flat_values, [-1, 40])

    @tf.function(input_signature=sig)
    def validate(data, bad, unterminated):
        return parse_text(data, bad, unterminated)  # every output: unused ops would be pruned

    @tf.function(input_signature=sig)
    def validate_count(data, bad, unterminated):
        return count_fn(*parse_text(data, bad, unterminated))

    @tf.function(input_signature=sig)
    def unique_only(data, bad, unterminated):
        rows = parse_text(data, bad, unterminated)[1]
        return [tf.unique_with_counts(rows[:, c], out_idx=tf.int32) for c in range(1, 40)]

    timings = {"read+utf8 (python)": read_s}
    t = time.perf_counter()
    for c in chunks:  # what the converter does per chunk on the Python side after the TF part
        [t_.numpy() for t_ in validate_count(c.data, np.zeros(c.num_lines, bool), c.unterminated)]
    numpy_s = time.perf_counter() - t
    for name, fn, full in (
        ("split fields", split_only, False),
        ("split+validate", validate, True),
        ("split+validate+count", validate_count, True),
        ("split+validate+unique_with_counts only", unique_only, True),
    ):
        args0 = [chunks[0].data] + ([np.zeros(chunks[0].num_lines, bool), False] if full else [])
        fn(*args0)  # trace
        t = time.perf_counter()
        for c in chunks:
            fn(*([c.data] + ([np.zeros(c.num_lines, bool), c.unterminated] if full else [])))
        timings[name] = time.perf_counter() - t
    timings["split+validate+count+.numpy()"] = numpy_s
    timings.update(profile_arrow(chunks, layout))
    size = sum(len(c.data or b"") for c in chunks)
    print(
        f"profile of the first pass, {rows:,} rows ({size / 2**20:.0f} MB), one thread: "
        + ", ".join(f"{k} {v:.2f} s ({rows / v:,.0f} rows/s)" for k, v in timings.items()),
        flush=True,
    )


def profile_arrow(chunks, layout) -> dict:
    """Seconds of the single-machine converter's first pass (`tfrecord_tools.convert.arrow_parse`, what
    `first_pass` runs on wholly valid chunks) over the same chunks, one thread, each part adding one step."""
    from mezoo.data.raw.rules import LABEL_VALUES
    from tfrecord_tools.convert import arrow_parse

    fields = [dict(f) for f in layout.fields]
    int_cols = [f["column"] for f in layout.fields if f.get("source") == "integer"]
    steps = {
        "arrow split": lambda t: None,
        "arrow split+validate": lambda t: arrow_parse.all_valid(t, layout.label, int_cols, LABEL_VALUES),
        "arrow split+validate+count": lambda t: (
            arrow_parse.all_valid(t, layout.label, int_cols, LABEL_VALUES),
            arrow_parse.count_table(t, fields, layout.label),
        ),
    }
    timings = {}
    for name, step in steps.items():
        t = time.perf_counter()
        for c in chunks:
            step(arrow_parse.parse_lines(c.data, c.num_lines, layout.num_columns, layout.delimiter))
        timings[name] = time.perf_counter() - t
    return timings


if __name__ == "__main__":
    main()
