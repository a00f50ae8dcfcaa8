"""The conversion as one Beam pipeline (`build_pipeline`), its last step (`finish`) and its run (`run`)."""

import json
import re
import time
from typing import Dict, List, Optional

from mezoo.command import debugging
from mezoo.data.multi_valued import id_columns, is_multi_valued
from mezoo.data.raw.layout import Layout
from mezoo.data.raw.reader import FileInfo, InputError
from mezoo.data.raw.rules import REJECTS_HEADER, escape_line
from tfrecord_tools.beam_pipeline.files import fs_open, fs_write, install_staged, join, prepare_staging
from tfrecord_tools.beam_pipeline.runtime import METRICS_NAMESPACE, beam, pvalue, quiet_beam_logs, require_beam
from tfrecord_tools.beam_pipeline.transforms import (
    MergeCounts,
    ParseChunk,
    ReadFile,
    TransformChunk,
    WriteShard,
    combine_truncation,
    field_vocabulary,
    files_with_stats,
    kept_tokens,
    make_plan,
    no_tokens,
    parent_known_keys,
    rejected_per_reason,
    vocabularies_in_order,
)
from tfrecord_tools.convert.errors import ConversionError
from tfrecord_tools.convert.first_pass import check_written, vocabulary_splits
from tfrecord_tools.convert.memory import check_memory
from tfrecord_tools.convert.options import Options
from tfrecord_tools.convert.output import conversion_files, disk_full_named
from tfrecord_tools.convert.spec import Conversion, spec_and_summary
from tfrecord_tools.convert.vocabularies import spec_fields
from tfrecord_tools.convert.vocabulary_parent import Parent, load_parent


def write_rejects(rejects, files: List[FileInfo], output: str, limit: int):
    """All (or the first `limit`, in file and line order) rejected lines -> rejects.tsv."""
    rows = sorted(rejects, key=lambda r: (r[0], r[1]))
    if limit >= 0:
        rows = rows[:limit]
    text = REJECTS_HEADER + "".join(
        f"{files[i].path}\t{line}\t{name}\t{escape_line(line_text)}\n" for i, line, name, line_text in rows
    )
    fs_write(join(output, "rejects.tsv"), text.encode("utf-8"))
    return len(rows)


def finish(
    _,
    stats,
    reasons,
    vocab,
    plan,
    written,
    rejects_done,
    files: List[FileInfo],
    layout: Layout,
    opts: Options,
    vocab_splits,
    write_to: str,
    truncation=None,
    parent: Optional[Parent] = None,
):
    """Last: the rows check, vocabulary files, summary.json, and feature_spec.json last of all
    (written to `write_to`, the run's staging directory; messages name `opts.output`)."""
    del rejects_done  # (a side input only so that rejects.tsv is written before the spec)
    files = files_with_stats(files, stats, reasons)
    rejected = rejected_per_reason(reasons)
    num_shards = plan["num_shards"]
    totals = {n: [0, 0] for n in num_shards}
    for name, (n, pos) in written:
        totals[name][0] += n
        totals[name][1] += pos
    written_rows = {n: totals[n][0] for n in num_shards}
    positives = {n: totals[n][1] for n in num_shards}
    vocabularies = vocabularies_in_order(layout, vocab)
    check_written(files, written_rows, rejected)
    _, memory = check_memory(spec_fields(layout.fields, vocabularies), opts, lambda *a: None)
    keys = ("rows_truncated", "values_dropped", "most_values")
    truncated = {
        f["name"]: dict(zip(keys, (truncation or {}).get(f["name"], (0, 0, 0))))
        for f in layout.fields
        if is_multi_valued(f)
    }
    done = Conversion(
        files, layout, opts, vocabularies, num_shards, written_rows, positives, rejected, memory, vocab_splits,
        truncated, parent,
    )  # fmt: skip
    spec, summary = spec_and_summary(done)
    for relative, data in conversion_files(vocabularies, summary, spec):
        fs_write(join(write_to, *relative.split("/")), data)
    yield summary


def vocabularies(p, tokens, fields: List[Dict], opts: Options, parent: Optional[Parent]):
    """Each field's vocabulary from the counted tokens (grown from `parent`'s where given), every field
    present even with no token."""
    counted = (
        tokens
        | "Count tokens" >> beam.CombinePerKey(MergeCounts())
        | "Min count" >> beam.Map(kept_tokens, opts.min_count, parent_known_keys(fields, parent))
    )
    return (
        (counted, p | "Every field" >> beam.Create(no_tokens(fields)))
        | "With every field" >> beam.Flatten()
        | "Per field" >> beam.GroupByKey()
        | "Vocabulary" >> beam.Map(field_vocabulary, fields, opts, parent)
    )


def rejects_written(one, rejects, files: List[FileInfo], write_to: str, opts: Options):
    """The rejected rows written (the first `max_rejects_logged` by file and line, or all of them)."""
    if opts.max_rejects_logged >= 0:
        logged = rejects | "First rejects" >> beam.combiners.Top.Smallest(
            opts.max_rejects_logged, key=lambda r: (r[0], r[1])
        )
    else:
        logged = rejects | "All rejects" >> beam.combiners.ToList()
    return one | "Write rejects" >> beam.Map(
        lambda _, rows: write_rejects(rows, files, write_to, opts.max_rejects_logged), pvalue.AsSingleton(logged)
    )


def build_pipeline(
    p,
    files: List[FileInfo],
    layout: Layout,
    opts: Options,
    write_to: Optional[str] = None,
    parent: Optional[Parent] = None,
):
    """Adds the conversion to pipeline `p`; returns the PCollection of the (one) summary.

    Everything is written to `write_to` (default `opts.output`; `run` passes its staging directory).
    With `--vocabulary_from`, `parent` (else loaded here) is the conversion the vocabularies grow from.
    """
    write_to = write_to or opts.output
    if parent is None:
        parent = load_parent(opts.vocabulary_from, layout, opts.output)
    given_splits = any(f.split for f in files)
    vocab_splits = vocabulary_splits(files, opts)
    count_files = [i for i, f in enumerate(files) if not given_splits or f.split in vocab_splits]
    fields = [dict(f) for f in layout.fields]
    AsList, AsDict, AsSingleton = pvalue.AsList, pvalue.AsDict, pvalue.AsSingleton

    read = (
        p
        | "Files" >> beam.Create(list(enumerate(files)))
        | "Reshuffle files" >> beam.Reshuffle()
        | "Read" >> beam.ParDo(ReadFile(layout.header, opts.chunk_bytes)).with_outputs("files", main="chunks")
    )
    parsed = (
        read.chunks
        | "Spread chunks" >> beam.Reshuffle()
        | "Parse, validate, count"
        >> beam.ParDo(ParseChunk(layout, opts.accept_unterminated_last_line, count_files)).with_outputs(
            "valid", "rejects", "reasons", "tokens", main="rows"
        )
    )
    reasons = parsed.reasons | "Reject counts" >> beam.CombinePerKey(sum)
    vocab = vocabularies(p, parsed.tokens, fields, opts, parent)
    one = p | "Once" >> beam.Create([None])
    planned = one | "Split plan" >> beam.FlatMap(
        make_plan, AsList(parsed.valid), AsList(read.files), AsList(reasons), AsDict(vocab), files, layout, opts
    ).with_outputs("plan", main="assignment")
    plan = AsSingleton(planned.plan)
    pieces = (
        {"rows": parsed.rows, "assignment": planned.assignment}
        | "Join" >> beam.CoGroupByKey()
        | "Ids"
        >> beam.ParDo(TransformChunk(layout, opts.rows_per_shard), AsDict(vocab), plan).with_outputs(
            "truncation", main="pieces"
        )
    )
    truncation = pieces.truncation | "Truncation" >> beam.CombinePerKey(combine_truncation)
    written = (
        pieces.pieces
        | "Per shard" >> beam.GroupByKey()
        | "Write shards" >> beam.ParDo(WriteShard(write_to, sum(id_columns(fields)), len(layout.numeric), opts), plan)
    )
    rejects_done = rejects_written(one, parsed.rejects, files, write_to, opts)
    return one | "Finish" >> beam.FlatMap(
        finish,
        AsList(read.files),
        AsList(reasons),
        AsDict(vocab),
        plan,
        AsList(written),
        AsSingleton(rejects_done),
        files,
        layout,
        opts,
        vocab_splits,
        write_to,
        AsDict(truncation),
        parent,
    )


def run(files: List[FileInfo], layout: Layout, opts: Options, beam_args: List[str]) -> Dict:
    """Runs the conversion with the given Beam pipeline options; returns the summary (read back
    from the output) with the reject counters of the pipeline's metrics and the wall time."""
    require_beam()
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.metrics.metric import MetricsFilter
    from apache_beam.options.pipeline_options import PipelineOptions

    t0 = time.time()
    parent = load_parent(opts.vocabulary_from, layout, opts.output)
    with disk_full_named(opts.output):
        staging = prepare_staging(opts.output)
        try:
            p = beam.Pipeline(options=PipelineOptions(beam_args))
            build_pipeline(p, files, layout, opts, write_to=staging, parent=parent)
            with quiet_beam_logs(debugging()):
                try:
                    result = p.run()
                    result.wait_until_finish()
                except (ConversionError, InputError) as error:  # Beam appends the failing step's name
                    raise type(error)(re.sub(r" \[while running '[^]]*'\]$", "", str(error))) from None
            with fs_open(join(staging, "summary.json")) as f:
                summary = json.loads(f.read().decode())
            install_staged(staging, opts.output)
        finally:
            if FileSystems.exists(staging):
                FileSystems.delete([staging])
    metrics: Optional[Dict[str, int]]
    try:
        counts: Dict[str, int] = {}
        for counter in result.metrics().query(MetricsFilter().with_namespace(METRICS_NAMESPACE))["counters"]:
            counts[counter.key.metric.name] = counts.get(counter.key.metric.name, 0) + int(counter.committed or 0)
        metrics = counts
    except Exception:  # some runners report no metrics; summary.json has the counts anyway
        metrics = None
    total = time.time() - t0
    summary["metrics_rejected"] = metrics
    summary["timing"] = {"total_s": round(total, 2), "rows_per_s": round(summary["rows_read"] / max(total, 1e-9))}
    return summary
