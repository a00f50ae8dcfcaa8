"""Shared helpers: run a conversion in-process, read shards back, an independent vocabulary."""

import collections
import decimal
import glob
import os

import numpy as np


def convert(files, layout, output, fmt="text", **options):
    from mezoo.data.raw.reader import FileInfo
    from tfrecord_tools.convert.options import Options
    from tfrecord_tools.convert.pipeline import convert as run

    infos = [f if isinstance(f, FileInfo) else FileInfo(f) for f in files]
    options.setdefault("verbose", False)
    options.setdefault("parallel", 1)
    return run(infos, layout, Options(output=str(output), dataset=options.pop("dataset", "test"), **options), fmt=fmt)


def read_split(directory, split):
    """All (label, ids[, dense]) rows of a split, in shard order, parsed with plain tf.train.Example."""
    import tensorflow as tf

    from mezoo.data import FeatureSpec

    spec = FeatureSpec.load(str(directory))
    labels, ids, dense = [], [], []
    for path in spec.files(split):
        for record in tf.data.TFRecordDataset(path, compression_type=spec.compression(split) or ""):
            ex = tf.train.Example.FromString(record.numpy())
            labels.append(ex.features.feature["label"].float_list.value[0])
            ids.append(list(ex.features.feature["ids"].int64_list.value))
            if "dense" in ex.features.feature:
                dense.append(list(ex.features.feature["dense"].float_list.value))
    return np.asarray(labels), np.asarray(ids, dtype=np.int64).reshape(-1, spec.id_width), np.asarray(dense)


def exact_bucket_token(text: str) -> str:
    """Criteo integer token, written from the paper's words with 50-digit decimals."""
    if text == "":
        return ""
    v = int(text)
    if v > 2:
        ctx = decimal.Context(prec=50)
        return str(int(ctx.power(ctx.ln(decimal.Decimal(v)), 2).to_integral_value(rounding=decimal.ROUND_FLOOR)))
    return str(v - 2)


def independent_vocab(values, min_count, integer=False):
    """Kept tokens in id order: count >= min_count, most frequent first, ties by token
    (integer tokens by numeric value, the missing token first)."""
    counts = collections.Counter(values)
    kept = [t for t, c in counts.items() if c >= min_count]

    def tie(t):
        if integer:
            return (0, 0) if t == "" else (1, int(t))
        return t.encode()

    return sorted(kept, key=lambda t: (-counts[t], tie(t)))


def expected_ids(rows, vocabs):
    index = [{t: i + 1 for i, t in enumerate(v)} for v in vocabs]
    return np.asarray([[index[f].get(tok, 0) for f, tok in enumerate(row)] for row in rows], dtype=np.int64)


def sorted_rows(labels, ids):
    table = np.concatenate([np.asarray(labels, np.int64)[:, None], ids], axis=1)
    return table[np.lexsort(table.T[::-1])]


def vocab_file(directory, name):
    with open(os.path.join(str(directory), "vocab", f"{name}.txt"), "rb") as f:
        data = f.read()
    return [] if not data else data[:-1].decode().split("\n")


def shard_bytes(directory):
    out = {}
    for path in sorted(glob.glob(os.path.join(str(directory), "*"))) + sorted(
        glob.glob(os.path.join(str(directory), "vocab", "*"))
    ):
        if os.path.isfile(path) and not path.endswith("summary.json"):
            with open(path, "rb") as f:
                out[os.path.relpath(path, str(directory))] = f.read()
    return out
