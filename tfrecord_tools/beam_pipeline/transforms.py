"""The conversion's steps as Beam transforms: read, parse and count, vocabularies, the split plan, ids, shards."""

import dataclasses
import os
import tempfile
from typing import Dict, List, Optional

import numpy as np

from mezoo.data.multi_valued import is_multi_valued
from mezoo.data.raw.layout import Layout
from mezoo.data.raw.parser import make_parser
from mezoo.data.raw.reader import FileInfo, read_text_chunks
from mezoo.data.raw.rules import REASONS
from tfrecord_tools.beam_pipeline.files import fs_copy_file, fs_open, fs_size, join
from tfrecord_tools.beam_pipeline.runtime import COUNT_BUCKETS, METRICS_NAMESPACE, CombineFn, DoFn, pvalue
from tfrecord_tools.convert.counting import kept_mask, make_count_fn, merge_counts, token_keys
from tfrecord_tools.convert.errors import ConversionError
from tfrecord_tools.convert.first_pass import check_first_pass, chunk_rejects
from tfrecord_tools.convert.memory import check_id_memory, check_memory
from tfrecord_tools.convert.options import Options, logger
from tfrecord_tools.convert.plan import id_dtype, plan_splits, shard_pieces
from tfrecord_tools.convert.records import make_serializer, shard_name, tfrecord_options, write_records
from tfrecord_tools.convert.transform import make_transform_fn, truncation_counts
from tfrecord_tools.convert.vocabularies import FieldVocabulary, spec_fields
from tfrecord_tools.convert.vocabularies import field_vocabulary as build_field_vocabulary
from tfrecord_tools.convert.vocabulary_parent import Parent, parent_keys


class ReadFile(DoFn):
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


class ParseChunk(DoFn):
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


class MergeCounts(CombineFn):
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


def kept_tokens(element, min_count: int, known: Optional[Dict[int, set]] = None):
    """((field, bucket), (keys, counts)) -> (field, (kept keys, their counts, distinct values in the bucket)).
    `known`: per field, the parent's keys (`--vocabulary_from`), kept whatever their count."""
    (field, _), (keys, counts) = element
    keep = kept_mask(counts, min_count)
    if known is not None and known[field]:
        keep |= np.fromiter((k in known[field] for k in keys), bool, len(keys))
    return field, (keys[keep], counts[keep], len(keys))


def parent_known_keys(fields: List[Dict], parent: Optional[Parent]) -> Optional[Dict[int, set]]:
    """Per field index, the parent's tokens as count keys (int buckets or bytes), or None without a parent."""
    if parent is None:
        return None
    known = {}
    for i, field in enumerate(fields):
        keys = parent_keys(parent.vocabularies[field["name"]], field.get("source") == "integer")
        known[i] = set(keys.tolist() if isinstance(keys, np.ndarray) else keys)
    return known


def no_tokens(fields: List[Dict]):
    """An empty count part per field, so that every field gets a vocabulary (with a parent: the
    parent's, all unseen)."""
    return [
        (i, (np.zeros(0, np.int64 if f.get("source") == "integer" else object), np.zeros(0, np.int64), 0))
        for i, f in enumerate(fields)
    ]


def field_vocabulary(element, fields: List[Dict], opts: Options, parent: Optional[Parent] = None):
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
    return field, build_field_vocabulary(fields[field]["name"], keys, counts, int(distinct), integer, opts, parent)


def files_with_stats(files: List[FileInfo], stats, reasons) -> List[FileInfo]:
    by_index = dict(stats)
    out = []
    for i, f in enumerate(files):
        info = dataclasses.replace(by_index[i]) if i in by_index else dataclasses.replace(f)
        info.rejected = {}
        out.append(info)
    for (i, name), n in sorted(reasons, key=lambda r: (r[0][0], REASONS.index(r[0][1]))):
        out[i].rejected[name] = out[i].rejected.get(name, 0) + n
    return out


def rejected_per_reason(reasons) -> Dict[str, int]:
    """((file, reason), n) counts -> rejected lines per reason (every reason, zeros included)."""
    rejected = {r: 0 for r in REASONS}
    for (_, name), n in reasons:
        rejected[name] += n
    return rejected


def vocabularies_in_order(layout: Layout, vocab: Dict[int, FieldVocabulary]) -> List[FieldVocabulary]:
    """Each field's vocabulary, in field order (a field no row counted for has none: only OOV)."""
    return [vocab.get(i, FieldVocabulary(f["name"], (), 0)) for i, f in enumerate(layout.fields)]


def make_plan(_, valid, stats, reasons, vocab, files: List[FileInfo], layout: Layout, opts: Options):
    """Once, after the first pass: the single-machine converter's checks (every line accepted or
    rejected, duplicate inputs, no valid rows, the memory limits), then its `plan.plan_splits`;
    yields the plan (tagged `plan`) and each chunk's slice of the split assignment."""
    log = logger(opts.verbose)
    files = files_with_stats(files, stats, reasons)
    rejected = rejected_per_reason(reasons)
    chunks = sorted(valid)
    valid_per_file = [0] * len(files)
    for (i, _), n in chunks:
        valid_per_file[i] += n
    check_first_pass(files, valid_per_file, rejected, [], opts, log)
    fields = spec_fields(layout.fields, vocabularies_in_order(layout, vocab))
    check_memory(fields, opts, log)
    split = plan_splits(valid_per_file, [f.split for f in files], opts.split, opts.seed, opts.rows_per_shard)
    check_id_memory(fields, [n for _, n in chunks], split.rows, opts)
    yield pvalue.TaggedOutput("plan", {"split_names": list(split.rows), "num_shards": split.num_shards})
    offset = 0
    for key, n in chunks:
        yield key, (split.split_of_row[offset : offset + n], split.position[offset : offset + n])
        offset += n


class TransformChunk(DoFn):
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

            vocabularies = vocabularies_in_order(layout, vocab)
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
        ids = ids.numpy().astype(id_dtype(sum(v.vocab_size for v in vocabularies_in_order(self.layout, vocab))))
        multi = [f for f in self.layout.fields if is_multi_valued(f)]
        tokens = tokens.numpy()
        for j, field in enumerate(multi):
            counted = truncation_counts(tokens[:, j], int(field["max_len"]))
            yield pvalue.TaggedOutput("truncation", (field["name"], tuple(int(c) for c in counted)))
        for name, k, rows_ in shard_pieces(plan["split_names"], split_of, position, self.rps):
            yield (name, k), ((position[rows_] % self.rps).astype(np.int32), ids[rows_], labels[rows_], dense[rows_])


class WriteShard(DoFn):
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
        final = join(self.output, shard_name(name, k, plan["num_shards"][name], self.opts.compression))
        with tempfile.TemporaryDirectory(prefix="mezoo-beam-shard-") as tmp:
            local = os.path.join(tmp, "shard")
            write_records(local, tfrecord_options(self.opts), self.serialize, labels, ids, dense)
            fs_copy_file(local, final)
        yield name, (len(pos), int(labels.sum()))


def combine_truncation(counts) -> tuple:
    """(rows truncated, tokens dropped, most tokens in a row) of chunks -> of them all."""
    counts = list(counts)
    return (sum(c[0] for c in counts), sum(c[1] for c in counts), max((c[2] for c in counts), default=0))
