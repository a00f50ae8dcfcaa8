"""The converter as an Apache Beam pipeline: Dataflow, Flink, Spark, or a local runner.

    python -m tfrecord_tools.beam criteo --input 'gs://b/day_*.gz' --output gs://b/criteo1tb \\
        --runner DataflowRunner --project P --region R --temp_location gs://b/tmp --setup_file ./setup.py
    python -m tfrecord_tools.beam avazu --input train.csv --output DIR --runner DirectRunner
    python -m tfrecord_tools.beam csv --schema schema.yaml --input data.csv --output DIR

The same conversion as `tfrecord_tools.criteo|avazu|csv` (same flags, same defaults), with every
piece of it taken from `tfrecord_tools.convert` and `mezoo.data`, not written again:

- Files are read (plain or gzip, through `apache_beam.io.filesystems`: local, gs://, s3://...)
  by the same chunk reader (`mezoo.data.raw.reader`), one file per worker stream; chunks are
  parsed and validated by the same TF parser (`mezoo.data.raw.parser`) and counted by the same
  TF function (`convert.counting.make_count_fn`). Rejected lines carry file, line, reason
  (`mezoo.data.raw.rules.REASONS`) and text into `rejects.tsv`; each reason is a Beam counter
  (namespace `mezoo.rejects`) and the per-reason, per-file counts go to `summary.json`.
- Vocabularies: token counts are combined per (field, hash bucket of the token), so no worker
  holds a whole field's distinct values; only the tokens with count >= `--min_count` meet, per
  field, in `convert.vocabularies.build_vocabulary` (same order, same ties, same `--max_vocab_size`).
- The split: `convert.plan.plan_splits` on the accepted-row counts per file (the same exact
  seeded permutation, so every row lands in the same split at the same position), computed
  once and handed to each chunk as its slice. Its arrays take about 9 bytes per accepted row
  on one worker (40 GB for Criteo 1TB's 4.4 B rows: use a high-memory worker type).
- Ids: each chunk's distinct values go through `mezoo.data.RawToIds`
  (`convert.transform.make_transform_fn`), the tables built once per worker process
  (`apache_beam.utils.shared`), then rows are grouped per output shard, put in their position
  order, serialized as `mezoo.data.examples.serialize_examples` does and written by
  `convert.records.write_records` as a gzip TFRecord locally, then copied to its final name.
  Vocabularies, `rejects.tsv` and `summary.json` follow, `feature_spec.json` last, the same
  bytes as the single-machine converter writes (`convert.output.conversion_files`).

What differs from the single-machine converter, and why it is harmless: the bytes of a shard's
gzip stream (the same records in the same order; zlib framing only), and the order in which
shards appear. `rows_read == rows_written + rows_rejected` is checked by the last step, which
fails the pipeline (nothing is installed: no spec) when it does not hold; a full disk is one
`DiskFull` line naming the output, the previous conversion left as it was. There is no output
lock across machines: do not run two conversions into one output directory. Parquet input
(csv tool) is not supported here yet.
"""

import contextlib
import dataclasses
import json
import logging
import os
import re
import tempfile
import time
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from mezoo.cli import debugging
from mezoo.data.multi_valued import field_lengths, is_multi_valued
from mezoo.data.raw.layout import Layout
from mezoo.data.raw.parser import make_parser
from mezoo.data.raw.reader import FileInfo, InputError, input_paths, read_text_chunks
from mezoo.data.raw.rules import REASONS, REJECTS_HEADER, escape_line
from tfrecord_tools.convert.counting import make_count_fn, merge_counts, token_keys
from tfrecord_tools.convert.errors import ConversionError
from tfrecord_tools.convert.first_pass import check_first_pass, check_written, chunk_rejects, vocabulary_splits
from tfrecord_tools.convert.memory import check_id_memory, check_memory
from tfrecord_tools.convert.options import Options, logger
from tfrecord_tools.convert.output import conversion_files, disk_full_named
from tfrecord_tools.convert.plan import id_dtype, plan_splits, shard_pieces
from tfrecord_tools.convert.records import make_serializer, shard_name, tfrecord_options, write_records
from tfrecord_tools.convert.spec import Conversion, format_summary, spec_and_summary
from tfrecord_tools.convert.transform import make_transform_fn, truncation_counts
from tfrecord_tools.convert.vocabularies import FieldVocabulary, build_vocabulary, spec_fields, vocabulary_cap


def _import_beam() -> Tuple[Any, Any]:
    """(apache_beam, apache_beam.pvalue), or (None, None) when the `beam` extra is absent: the
    module still imports, and run() says what to install."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # Beam's import warns on the root logger about GCP clients nobody uses here
    try:
        import apache_beam
        from apache_beam import pvalue
    except ImportError:
        return None, None
    finally:
        root.setLevel(level)
    return apache_beam, pvalue


beam, pvalue = _import_beam()

COUNT_BUCKETS = 64  # token counts are combined per (field, bucket): spreads a field over workers
METRICS_NAMESPACE = "mezoo.rejects"


def _require_beam():
    if beam is None:
        raise ConversionError(
            "tfrecord_tools.beam needs Apache Beam: pip install 'mezoo[beam]' "
            "(or make install, which installs the extra)"
        )


_DoFn: Any = beam.DoFn if beam is not None else object
_CombineFn: Any = beam.CombineFn if beam is not None else object


# ------------------------------------------------------------------------- file systems
def fs_open(path: str):
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


def fs_size(path: str) -> int:
    from apache_beam.io.filesystems import FileSystems

    return FileSystems.match([path])[0].metadata_list[0].size_in_bytes


def fs_write(path: str, data: bytes) -> None:
    """Writes `data` to `path` under a temporary name, then renames it (atomic where the file system is)."""
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    tmp = path + ".tmp"
    with FileSystems.create(tmp, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        f.write(data)
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([tmp], [path])


def fs_copy_file(local: str, path: str) -> None:
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    tmp = path + ".tmp"
    with open(local, "rb") as src, FileSystems.create(tmp, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        for block in iter(lambda: src.read(8 << 20), b""):
            f.write(block)
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([tmp], [path])


def expand_inputs(values: List[str]) -> List[str]:
    """`mezoo.data.raw.reader.input_paths` on any Beam file system (plain paths checked to exist there too)."""
    return input_paths(values, match=_listing)


STAGING_PREFIX = ".convert-beam-"  # a run's staging directory inside the output (as output.SCRATCH_PREFIX locally)


def _listing(pattern: str) -> List[str]:
    from apache_beam.io.filesystems import FileSystems

    return [m.path for m in FileSystems.match([pattern])[0].metadata_list]


def prepare_staging(output: str) -> str:
    """A new, empty staging directory inside `output`, where the pipeline writes everything.

    The previous conversion in `output` stays as it is until `install_staged` replaces it: a run
    that fails (bad input, a killed driver or worker) leaves it untouched. On a local output,
    staging directories of runs that died are removed first (one conversion per output
    directory at a time; elsewhere they are hidden names a later local run or a user removes).
    """
    import shutil
    import uuid

    from apache_beam.io.filesystems import FileSystems

    if not FileSystems.exists(output):
        FileSystems.mkdirs(output)
    if "://" not in output:
        for name in os.listdir(output):
            if name.startswith(STAGING_PREFIX):
                shutil.rmtree(os.path.join(output, name), ignore_errors=True)
    staging = _join(output, STAGING_PREFIX + uuid.uuid4().hex[:12])
    FileSystems.mkdirs(staging)
    return staging


def install_staged(staging: str, output: str) -> None:
    """Replaces the conversion in `output` by the finished one in `staging`, the spec last.

    The old spec goes first, so that from then on the directory is no conversion until the new
    spec, moved in last, makes it the new one (as `output.install` does locally).
    """
    from apache_beam.io.filesystems import FileSystems

    from tfrecord_tools.convert.output import CONVERSION_FILES
    from tfrecord_tools.convert.records import SHARD_NAME

    spec = _join(output, "feature_spec.json")
    if FileSystems.exists(spec):
        FileSystems.delete([spec])
    old = [p for p in _listing(_join(output, "*")) if SHARD_NAME.match(os.path.basename(p))]
    old += [p for p in _listing(_join(output, "*")) if os.path.basename(p) in CONVERSION_FILES]
    old += _listing(_join(output, "vocab", "*"))
    if old:
        FileSystems.delete(old)
    top = [p for p in _listing(_join(staging, "*")) if os.path.basename(p) != "feature_spec.json"]
    vocab = _listing(_join(staging, "vocab", "*"))
    if vocab and not FileSystems.exists(_join(output, "vocab")):
        FileSystems.mkdirs(_join(output, "vocab"))
    moves = [(p, _join(output, os.path.basename(p))) for p in top]
    moves += [(p, _join(output, "vocab", os.path.basename(p))) for p in vocab]
    if moves:
        FileSystems.rename([a for a, _ in moves], [b for _, b in moves])
    FileSystems.rename([_join(staging, "feature_spec.json")], [spec])


# ------------------------------------------------------------------------------- DoFns
class ReadFile(_DoFn):
    """(file index, FileInfo) -> ((file index, chunk number), Chunk) ...; tagged `files`: the
    file's statistics once read (lines, sha256, final newline, ...)."""

    def __init__(self, header: bool, chunk_bytes: int):
        self.header, self.chunk_bytes = header, chunk_bytes

    def process(self, element):
        index, info = element
        for k, chunk in enumerate(
            read_text_chunks([info], self.header, self.chunk_bytes, opener=fs_open, sizer=fs_size, first_index=index)
        ):
            yield (index, k), chunk
        yield pvalue.TaggedOutput("files", (index, info))


class ParseChunk(_DoFn):
    """A chunk -> parsed and counted with the converter's own TF functions. Outputs:
    main ((file, chunk), rows: labels, dense, index, distinct); `valid` ((file, chunk), accepted
    rows); `rejects` (file, line, reason, text); `reasons` ((file, reason), n); `tokens`
    ((field, bucket), (keys, counts))."""

    def __init__(self, layout: Layout, accept_unterminated: bool, count_files):
        self.layout, self.accept_unterminated, self.count_files = layout, accept_unterminated, set(count_files)

    def setup(self):
        import tensorflow as tf

        parse_text, _ = make_parser(self.layout, self.accept_unterminated)
        count_fn = make_count_fn([dict(f) for f in self.layout.fields])
        self.fn = tf.function(
            lambda data, bad, unterminated: count_fn(*parse_text(data, bad, unterminated)),
            input_signature=[tf.TensorSpec([], tf.string), tf.TensorSpec([None], tf.bool), tf.TensorSpec([], tf.bool)],
        )
        self.is_int = [f.get("source") == "integer" for f in self.layout.fields]

    def process(self, element):
        import tensorflow as tf
        from apache_beam.metrics import Metrics

        key, chunk = element
        bad = chunk.bad_utf8 if chunk.bad_utf8 is not None else np.zeros(chunk.num_lines, bool)
        res = [t.numpy() for t in self.fn(tf.constant(chunk.data), tf.constant(bad), tf.constant(chunk.unterminated))]
        reason = res[0]
        n_bad, per_reason = 0, {}
        for _, line_no, name, text in chunk_rejects(chunk, reason):
            n_bad += 1
            per_reason[name] = per_reason.get(name, 0) + 1
            yield pvalue.TaggedOutput("rejects", (chunk.file_index, line_no, name, text))
        for name, n in per_reason.items():
            Metrics.counter(METRICS_NAMESPACE, name).inc(n)
            yield pvalue.TaggedOutput("reasons", ((chunk.file_index, name), n))
        yield pvalue.TaggedOutput("valid", (key, len(reason) - n_bad))
        labels, dense, index, distinct = res[1:5]
        yield key, (labels.astype(np.uint8), dense.astype(np.float32), index.astype(np.int32), distinct)
        if chunk.file_index not in self.count_files:
            return
        for i in range(len(self.is_int)):
            keys = token_keys(self.is_int[i], res[5 + 3 * i], res[6 + 3 * i])
            counts = res[7 + 3 * i].astype(np.int64)
            if not self.is_int[i]:
                keys = np.asarray(keys.to_numpy(zero_copy_only=False), dtype=object)
            if self.is_int[i]:
                bucket = np.mod(keys, COUNT_BUCKETS)
            else:
                bucket = tf.strings.to_hash_bucket_fast(keys, COUNT_BUCKETS).numpy()
            for b in np.unique(bucket):
                sel = bucket == b
                yield pvalue.TaggedOutput("tokens", ((i, int(b)), (keys[sel], counts[sel])))


class MergeCounts(_CombineFn):
    """CombineFn: (keys, counts) parts of one (field, bucket) -> summed counts (`convert.counting.merge_counts`)."""

    def create_accumulator(self):
        return []

    def add_input(self, acc, part):
        acc.append(part)
        if len(acc) > 64:
            acc = [self._merge(acc)]
        return acc

    def merge_accumulators(self, accs):
        parts = [p for acc in accs for p in acc]
        return [self._merge(parts)] if parts else []

    def extract_output(self, acc):
        return self._merge(acc) if acc else (np.zeros(0, np.int64), np.zeros(0, np.int64))

    @staticmethod
    def _merge(parts):
        return merge_counts(parts, parts[0][0].dtype != object)


def kept_tokens(element, min_count: int):
    """((field, bucket), (keys, counts)) -> (field, (kept keys, their counts, distinct values in the bucket))."""
    (field, _), (keys, counts) = element
    keep = counts >= min_count
    return field, (keys[keep], counts[keep], len(keys))


def field_vocabulary(element, fields: List[Dict], opts: Options):
    """(field, [(keys, counts, distinct)...]) -> (field, its `FieldVocabulary`)."""
    field, parts = element
    parts = list(parts)
    integer = fields[field].get("source") == "integer"
    distinct = sum(p[2] for p in parts)
    if integer:
        keys = np.concatenate([np.asarray(p[0], np.int64) for p in parts] or [np.zeros(0, np.int64)])
    else:
        keys = np.concatenate([np.asarray(p[0], object) for p in parts] or [np.zeros(0, object)])
    counts = np.concatenate([np.asarray(p[1], np.int64) for p in parts] or [np.zeros(0, np.int64)])
    name = fields[field]["name"]
    tokens = build_vocabulary(keys, counts, integer, opts.min_count, vocabulary_cap(opts, name))
    return field, FieldVocabulary(name, tuple(tokens), int(distinct))


def _files_with_stats(files: List[FileInfo], stats, reasons) -> List[FileInfo]:
    by_index = dict(stats)
    out = []
    for i, f in enumerate(files):
        info = dataclasses.replace(by_index[i]) if i in by_index else dataclasses.replace(f)
        info.rejected = {}
        out.append(info)
    for (i, name), n in sorted(reasons, key=lambda r: (r[0][0], REASONS.index(r[0][1]))):
        out[i].rejected[name] = out[i].rejected.get(name, 0) + n
    return out


def _rejected_per_reason(reasons) -> Dict[str, int]:
    """((file, reason), n) counts -> rejected lines per reason (every reason, zeros included)."""
    rejected = {r: 0 for r in REASONS}
    for (_, name), n in reasons:
        rejected[name] += n
    return rejected


def _vocabularies(layout: Layout, vocab: Dict[int, FieldVocabulary]) -> List[FieldVocabulary]:
    """Each field's vocabulary, in field order (a field no row counted for has none: only OOV)."""
    return [vocab.get(i, FieldVocabulary(f["name"], (), 0)) for i, f in enumerate(layout.fields)]


def make_plan(_, valid, stats, reasons, vocab, files: List[FileInfo], layout: Layout, opts: Options):
    """Once, after the first pass: the single-machine converter's checks (every line accepted or
    rejected, duplicate inputs, no valid rows, the memory limits), then its `plan.plan_splits`;
    yields the plan (tagged `plan`) and each chunk's slice of the split assignment."""
    log = logger(opts.verbose)
    files = _files_with_stats(files, stats, reasons)
    rejected = _rejected_per_reason(reasons)
    chunks = sorted(valid)
    valid_per_file = [0] * len(files)
    for (i, _), n in chunks:
        valid_per_file[i] += n
    check_first_pass(files, valid_per_file, rejected, [], opts, log)
    fields = spec_fields(layout.fields, _vocabularies(layout, vocab))
    check_memory(fields, opts, log)
    split = plan_splits(valid_per_file, [f.split for f in files], opts.split, opts.seed, opts.rows_per_shard)
    check_id_memory(fields, [n for _, n in chunks], split.rows, opts)
    yield pvalue.TaggedOutput("plan", {"split_names": list(split.rows), "num_shards": split.num_shards})
    offset = 0
    for key, n in chunks:
        yield key, (split.split_of_row[offset : offset + n], split.position[offset : offset + n])
        offset += n


class TransformChunk(_DoFn):
    """(chunk key, {rows, assignment}) -> ((split, shard), (position in shard, ids, labels, dense)) pieces,
    through `mezoo.data.RawToIds` built once per worker process from the vocabularies."""

    def __init__(self, layout: Layout, rows_per_shard: int):
        self.layout, self.rps = layout, rows_per_shard

    def setup(self):
        from apache_beam.utils import shared

        self._shared = shared.Shared()

    def _ids_fn(self, vocab):
        layout = self.layout

        def build():
            from mezoo.data.transform import RawToIds

            vocabularies = _vocabularies(layout, vocab)
            fields = spec_fields(layout.fields, vocabularies)
            transform = RawToIds.from_vocabularies(fields, [v.tokens for v in vocabularies])

            class Holder:  # weak-referenceable, as `shared` needs
                pass

            holder = Holder()
            holder.transform = transform
            holder.fn = make_transform_fn(transform, fields)
            return holder

        return self._shared.acquire(build).fn

    def process(self, element, vocab, plan):
        import tensorflow as tf

        key, grouped = element
        rows, assignment = list(grouped["rows"]), list(grouped["assignment"])
        if len(rows) != 1 or len(assignment) != 1:
            raise ConversionError(f"internal error: chunk {key}: {len(rows)} parsed, {len(assignment)} assignments")
        labels, dense, index, distinct = rows[0]
        split_of, position = assignment[0]
        if len(labels) != len(split_of):
            raise ConversionError(
                f"input changed between passes: chunk {key}: {len(labels)} rows, {len(split_of)} assigned"
            )
        if not len(labels):
            return
        ids, tokens = self._ids_fn(vocab)(tf.constant(distinct), tf.constant(index))
        # int32 when the vocabularies allow: half the bytes through the shuffle to the shards
        ids = ids.numpy().astype(id_dtype(sum(v.vocab_size for v in _vocabularies(self.layout, vocab))))
        multi = [f for f in self.layout.fields if is_multi_valued(f)]
        tokens = tokens.numpy()
        for j, field in enumerate(multi):
            counted = truncation_counts(tokens[:, j], int(field["max_len"]))
            yield pvalue.TaggedOutput("truncation", (field["name"], tuple(int(c) for c in counted)))
        for name, k, rows_ in shard_pieces(plan["split_names"], split_of, position, self.rps):
            yield (name, k), ((position[rows_] % self.rps).astype(np.int32), ids[rows_], labels[rows_], dense[rows_])


class WriteShard(_DoFn):
    """((split, shard), pieces) -> the shard, rows in position order, serialized by mezoo.data and
    written as a (gzip) TFRecord under a temp name, then renamed. Yields (split, rows, positives)."""

    def __init__(self, output: str, id_width: int, num_numeric: int, opts: Options):
        self.output, self.F, self.D, self.opts = output, id_width, num_numeric, opts

    def setup(self):
        self.serialize = make_serializer(self.F, self.D)

    def process(self, element, plan):
        (name, k), pieces = element
        pieces = list(pieces)
        pos = np.concatenate([p[0] for p in pieces])
        order = np.argsort(pos, kind="stable")
        ids = np.concatenate([p[1] for p in pieces])[order].astype(np.int64)
        labels = np.concatenate([p[2] for p in pieces])[order].astype(np.float32)
        dense = np.concatenate([p[3] for p in pieces])[order].astype(np.float32) if self.D else None
        final = _join(self.output, shard_name(name, k, plan["num_shards"][name], self.opts.compression))
        with tempfile.TemporaryDirectory(prefix="mezoo-beam-shard-") as tmp:
            local = os.path.join(tmp, "shard")
            write_records(local, tfrecord_options(self.opts), self.serialize, labels, ids, dense)
            fs_copy_file(local, final)
        yield name, (len(pos), int(labels.sum()))


def _join(*parts):
    from apache_beam.io.filesystems import FileSystems

    return FileSystems.join(*parts)


def write_rejects(rejects, files: List[FileInfo], output: str, limit: int):
    """All (or the first `limit`, in file and line order) rejected lines -> rejects.tsv."""
    rows = sorted(rejects, key=lambda r: (r[0], r[1]))
    if limit >= 0:
        rows = rows[:limit]
    text = REJECTS_HEADER + "".join(
        f"{files[i].path}\t{line}\t{name}\t{escape_line(line_text)}\n" for i, line, name, line_text in rows
    )
    fs_write(_join(output, "rejects.tsv"), text.encode("utf-8"))
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
):
    """Last: the rows check, vocabulary files, summary.json, and feature_spec.json last of all
    (written to `write_to`, the run's staging directory; messages name `opts.output`)."""
    del rejects_done  # (a side input only so that rejects.tsv is written before the spec)
    files = _files_with_stats(files, stats, reasons)
    rejected = _rejected_per_reason(reasons)
    num_shards = plan["num_shards"]
    totals = {n: [0, 0] for n in num_shards}
    for name, (n, pos) in written:
        totals[name][0] += n
        totals[name][1] += pos
    written_rows = {n: totals[n][0] for n in num_shards}
    positives = {n: totals[n][1] for n in num_shards}
    vocabularies = _vocabularies(layout, vocab)
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
        truncated,
    )  # fmt: skip
    spec, summary = spec_and_summary(done)
    for relative, data in conversion_files(vocabularies, summary, spec):
        fs_write(_join(write_to, *relative.split("/")), data)
    yield summary


# ---------------------------------------------------------------------------- pipeline
def build_pipeline(p, files: List[FileInfo], layout: Layout, opts: Options, write_to: Optional[str] = None):
    """Adds the conversion to pipeline `p`; returns the PCollection of the (one) summary.

    Everything is written to `write_to` (default `opts.output`; `run` passes its staging directory).
    """
    write_to = write_to or opts.output
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
    vocab = (
        parsed.tokens
        | "Count tokens" >> beam.CombinePerKey(MergeCounts())
        | "Min count" >> beam.Map(kept_tokens, opts.min_count)
        | "Per field" >> beam.GroupByKey()
        | "Vocabulary" >> beam.Map(field_vocabulary, fields, opts)
    )
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
        | "Write shards"
        >> beam.ParDo(WriteShard(write_to, sum(field_lengths(fields)), len(layout.numeric), opts), plan)
    )
    if opts.max_rejects_logged >= 0:
        logged = parsed.rejects | "First rejects" >> beam.combiners.Top.Smallest(
            opts.max_rejects_logged, key=lambda r: (r[0], r[1])
        )
    else:
        logged = parsed.rejects | "All rejects" >> beam.combiners.ToList()
    rejects_done = one | "Write rejects" >> beam.Map(
        lambda _, rows: write_rejects(rows, files, write_to, opts.max_rejects_logged), AsSingleton(logged)
    )
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
    )


def combine_truncation(counts) -> tuple:
    """(rows truncated, tokens dropped, most tokens in a row) of chunks -> of them all."""
    counts = list(counts)
    return (sum(c[0] for c in counts), sum(c[1] for c in counts), max((c[2] for c in counts), default=0))


@contextlib.contextmanager
def _quiet_beam_logs(debug: bool):
    """Beam logs a failing DoFn's exception (with its traceback) before raising it: the error line
    the command prints says it once. MEZOO_DEBUG=1 keeps Beam's logs."""
    loggers = [logging.getLogger(name) for name in ("apache_beam", "root")]
    levels = [logger.level for logger in loggers]
    if not debug:
        for logger in loggers:
            logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def run(files: List[FileInfo], layout: Layout, opts: Options, beam_args: List[str]) -> Dict:
    """Runs the conversion with the given Beam pipeline options; returns the summary (read back
    from the output) with the reject counters of the pipeline's metrics and the wall time."""
    _require_beam()
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.metrics.metric import MetricsFilter
    from apache_beam.options.pipeline_options import PipelineOptions

    t0 = time.time()
    with disk_full_named(opts.output):
        staging = prepare_staging(opts.output)
        try:
            p = beam.Pipeline(options=PipelineOptions(beam_args))
            build_pipeline(p, files, layout, opts, write_to=staging)
            with _quiet_beam_logs(debugging()):
                try:
                    result = p.run()
                    result.wait_until_finish()
                except (ConversionError, InputError) as error:  # Beam appends the failing step's name
                    raise type(error)(re.sub(r" \[while running '[^]]*'\]$", "", str(error))) from None
            with fs_open(_join(staging, "summary.json")) as f:
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


# --------------------------------------------------------------------------------- CLI
DATASETS = {"criteo": 10, "avazu": 4, "csv": 1}  # each tool's default --min_count


def define_flags(values: Any) -> None:
    from absl import flags

    from tfrecord_tools import common_flags

    common_flags.define(values, min_count=None, input_required=False)
    flags.DEFINE_string(
        "schema", None, "csv only: the schema file (YAML or JSON), as tfrecord_tools.csv takes it.", flag_values=values
    )


def convert_command(values: Any, rest: List[str]) -> Dict:
    """The command's work: `rest` holds the dataset name and the Beam pipeline options."""
    from tfrecord_tools import common_flags

    positional = [a for a in rest if a in DATASETS]
    beam_args = [a for a in rest if a not in DATASETS or a is not positional[0]] if positional else rest
    if len(positional) < 1:
        raise ValueError(
            f"usage: python -m tfrecord_tools.beam {{{'|'.join(DATASETS)}}} --input ... --output ... "
            "[--runner DirectRunner|PrismRunner|DataflowRunner|FlinkRunner|SparkRunner ...]"
        )
    dataset = positional[0]
    if values.min_count is None:
        values.min_count = DATASETS[dataset]
    _require_beam()
    if dataset == "csv":
        from tfrecord_tools.schema import build, load_schema

        if not values.schema:
            raise ValueError("csv needs --schema")
        schema = load_schema(values.schema)
        common_flags.apply_schema_defaults(values, schema)
        files, layout, fmt = build(
            schema, os.path.dirname(os.path.abspath(values.schema)), input_paths(values.input), values.schema
        )
        if fmt == "parquet":
            raise ConversionError(
                "Parquet input is not supported by tfrecord_tools.beam yet: use "
                "tfrecord_tools.csv, or convert to delimited text"
            )
        opts = common_flags.options(values, schema.get("dataset", "csv"))
        if schema.get("vocabulary_from"):
            opts.vocabulary_splits = list(schema["vocabulary_from"])
    else:
        from tfrecord_tools.formats import avazu_layout, check_avazu_header, criteo_layout

        if not values.input:
            raise ValueError("--input is required")
        paths = expand_inputs(values.input)
        layout = criteo_layout() if dataset == "criteo" else avazu_layout()
        if dataset == "avazu":
            check_avazu_header(paths, opener=fs_open)
        files = [FileInfo(p) for p in paths]
        opts = common_flags.options(values, dataset)
    opts.output = opts.output.rstrip("/") if "://" in opts.output else os.path.abspath(opts.output)
    print(
        f"tfrecord_tools.beam {dataset}: {len(files)} input file(s) -> {opts.output}; Beam options: "
        f"{' '.join(beam_args) or '(defaults: DirectRunner)'}",
        flush=True,
    )
    summary = run(files, layout, opts, beam_args)
    print(format_summary({k: v for k, v in summary.items() if k != "timing"}))
    if summary.get("metrics_rejected") is not None:
        print(
            "  Beam counters (mezoo.rejects): "
            + (", ".join(f"{k} {v:,}" for k, v in sorted(summary["metrics_rejected"].items())) or "none")
        )
    print(f"  time {summary['timing']['total_s']} s ({summary['timing']['rows_per_s']:,} rows/s end to end)")
    return summary


def main(argv: Optional[List[str]] = None) -> None:
    """`python -m tfrecord_tools.beam DATASET [the tool's flags] [Beam pipeline options]`."""
    from mezoo.cli import run_command

    run_command(
        __doc__,
        define_flags,
        convert_command,
        argv,
        program="python -m tfrecord_tools.beam",
        user_errors=(ValueError,),
        known_only=True,
    )


if __name__ == "__main__":
    # Run the module's importable twin, so that the DoFns pickle by reference
    # (tfrecord_tools.beam.ParseChunk), as workers import them, not as classes of __main__.
    from tfrecord_tools import beam as _module

    _module.main()
