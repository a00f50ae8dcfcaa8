"""Shared helpers: run a conversion in-process, read shards back, an independent vocabulary; Criteo rows
and the fixture with every reject reason; the MovieLens sample with its pipe-separated genres."""

import collections
import csv
import decimal
import glob
import gzip
import os

import numpy as np

from tests.shared_data import shared_data


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


def row(label="0", i1="5", c1="ab12cd34", ncat=26, nint=13):
    """One Criteo text line: the label, `nint` integers starting with `i1`, `ncat` categories starting with `c1`."""
    ints = [i1] + [str(k) for k in range(1, nint)]
    cats = [c1] + [f"{k:08x}" for k in range(1, ncat)]
    return "\t".join([label] + ints + cats)


def fixture_lines():
    """(line bytes, expected reason or None) in file order; line numbers are 1-based."""
    good = [row(str(k % 2), i1=str(k)).encode() for k in range(6)]
    return [
        (b"\xef\xbb\xbf" + good[0], None),  # 1: UTF-8 BOM at the start of the file
        (good[1], None),  # 2
        (b"", "empty_line"),  # 3
        (row(ncat=25).encode(), "wrong_column_count"),  # 4: a column short
        (row(c1="caf\xe9").encode("latin-1"), "invalid_utf8"),  # 5: not UTF-8
        (row(label="").encode(), "missing_label"),  # 6
        (row(label="2").encode(), "bad_label"),  # 7
        (row(i1="abc").encode(), "bad_integer"),  # 8
        (row(i1="3.5").encode(), "bad_integer"),  # 9
        (row(ncat=27).encode(), "wrong_column_count"),  # 10: a column too many
        (good[2], None),  # 11
        (row(label="yes").encode(), "bad_label"),  # 12
        (row(i1="12345678901234567890").encode(), "bad_integer"),  # 13: beyond int64
        (row(c1="ünï").encode(), None),  # 14: UTF-8 is fine
        (good[3], None),  # 15
        (good[4][:37], "truncated_last_line"),  # 16: truncated last line, no newline
    ]


def write_fixture(directory):
    """`fixture_lines()` without a final newline, an empty file and a gzip file with CRLF line ends and a
    bad label on line 6, in `directory`; returns their paths."""
    lines = fixture_lines()
    a = directory / "part-a.tsv"
    a.write_bytes(b"\n".join(line for line, _ in lines))  # no final newline: truncated last line
    empty = directory / "part-b.tsv"
    empty.write_bytes(b"")
    crlf = [row(str(k % 2), i1=str(100 + k)).encode() for k in range(5)] + [row(label="x").encode()]
    c = directory / "part-c.tsv.gz"
    with gzip.open(c, "wb") as f:  # gzip + CRLF line ends; line 6 is bad
        f.write(b"\r\n".join(crlf) + b"\r\n")
    return [str(a), str(empty), str(c)]


COLUMNS = ["label", "user_id", "movie_id", "genres", "gender", "age", "occupation"]


def movielens_csv(path):
    """The MovieLens-1M sample as a CSV of `COLUMNS` at `path`, the label "rating >= 4"; returns the sample's rows."""
    source = shared_data("movielens", "ml1m_deepctr_sample200.csv")
    with open(source, newline="") as f:
        rows = list(csv.DictReader(f))
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        for r in rows:
            w.writerow([int(int(r["rating"]) >= 4), r["user_id"], r["movie_id"], r["genres"]] + [
                r[c] for c in ("gender", "age", "occupation")
            ])  # fmt: skip
    return rows


def schema(**genres):
    """The MovieLens CSV's schema, `genres` multi-valued (at most 3 values unless `genres` says otherwise)."""
    return {
        "format": "csv",
        "label": "label",
        "categorical": ["user_id", "movie_id", "genres", "gender", "age", "occupation"],
        "multi_valued": {"genres": {"max_len": 3, **genres}},
    }


def convert_schema(tmp_path, spec, inputs, out, fmt_kind=None, **options):
    """Converts `inputs` as the schema mapping `spec` says (each token kept unless `min_count` is given)."""
    from tfrecord_tools.schema import build

    files, layout, kind = build(spec, str(tmp_path), [str(p) for p in inputs])
    options.setdefault("min_count", 1)
    return convert(files, layout, out, fmt=kind, **options)


# ----------------------------------------------------------------- generations (--vocabulary_from)
def split_in_two(lines, header=None):
    """`lines` (without newline) -> (day 1: the first half, day 2: the rest), each with `header` first if given."""
    half = len(lines) // 2
    head = [header] if header is not None else []
    return head + lines[:half], head + lines[half:]


def write_days(tmp_path, name, days):
    """Each day's lines as `<tmp_path>/<name>_day<k>.<ext>`; returns the paths."""
    paths = []
    for k, lines in enumerate(days, 1):
        path = tmp_path / f"day{k}_{name}"
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        paths.append(str(path))
    return paths


def criteo_days(tmp_path):
    """The Criteo sample (chronological) cut in two: day 1 = its first 5,000 rows, day 2 = the next 5,000."""
    with open(shared_data("criteo", "criteo_kaggle_head10k.tsv"), encoding="utf-8") as f:
        lines = f.read().splitlines()
    return write_days(tmp_path, "criteo.tsv", split_in_two(lines))


def avazu_days(tmp_path):
    """The Avazu sample (one hour, in log order) cut in two, each half with Avazu's header."""
    with open(shared_data("avazu", "avazu_head10k.csv"), encoding="utf-8") as f:
        lines = f.read().splitlines()
    return write_days(tmp_path, "avazu.csv", split_in_two(lines[1:], header=lines[0]))


def movielens_days(tmp_path):
    """The MovieLens sample as `COLUMNS` CSVs, ordered by timestamp and cut in two (day 1 = the earlier half)."""
    source = shared_data("movielens", "ml1m_deepctr_sample200.csv")
    with open(source, newline="") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["timestamp"]))
    lines = [
        ",".join(
            [str(int(int(r["rating"]) >= 4)), r["user_id"], r["movie_id"], r["genres"]]
            + [r[c] for c in ("gender", "age", "occupation")]
        )  # fmt: skip
        for r in rows
    ]
    return write_days(tmp_path, "movielens.csv", split_in_two(lines, header=",".join(COLUMNS)))


def grown_vocab(parent, values, min_count, cap=None, integer=False):
    """The vocabulary `--vocabulary_from` must give, from the rule's words: the parent's tokens in
    their order, then the new data's tokens counted at least `min_count` times that the parent
    lacks, most frequent first (ties as `independent_vocab`), cut where `cap` (vocab_size) says."""
    known = set(parent)
    appended = [t for t in independent_vocab(values, min_count, integer) if t not in known]
    if cap is not None:
        appended = appended[: max(cap - 1 - len(parent), 0)]
    return list(parent) + appended


def spec_of(directory):
    import json

    with open(os.path.join(str(directory), "feature_spec.json"), encoding="utf-8") as f:
        return json.load(f)
