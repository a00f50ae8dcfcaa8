"""Synthetic CTR data in the raw source formats, with a planted model to measure learners against.

    python -m tfrecord_tools.synthetic --dataset criteo --rows 1000000 --output /tmp/criteo/train.txt
    python -m tfrecord_tools.synthetic --dataset avazu --rows 100000 --output /tmp/avazu/train.csv
    python -m tfrecord_tools.synthetic --dataset frappe --rows 100000 --output /tmp/frappe   # a directory

Rows follow the published statistics of the real data (`STATS`, from ../shared/data/stats:
cardinalities, top-value shares, Criteo's block-structured missingness, integer quantiles,
positive rates), with Zipf-like skew over each field's values. Labels come from a planted
model (`mezoo.data.planted.PlantedModel`) whose signal lies mostly in field-pair
interactions: logit = b + s * (a / sqrt(F) * sum_f w_f[x_f] + sum_{(f,g) in P} <u_f[x_f],
u_g[x_g]> / sqrt(2|P|)) over a fixed random set P of field pairs (|P| = --pairs, default
max(3, F // 2)), with s = --signal (1), a = --first_order (0.3) and b set to hit the published
positive rate. The planted model's AUC on held-out rows (generated the same way, not written)
is the ceiling a learner is measured against; it is written beside
the data as `<output>.planted.json` (frappe: `<output>/planted.json`). The same seed gives
the same bytes. Criteo and Avazu outputs ending in .gz are gzip-compressed.
"""

import contextlib
import gzip
import json
import math
import os
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from absl import flags

from mezoo.atomic import atomic_open, atomic_write
from mezoo.data.planted import PlantedModel, sample, zipf_probabilities
from mezoo.errors import UsageError
from mezoo.metrics import auc
from tfrecord_tools.published_stats import STATS


def define_flags(values: Any) -> None:
    """The command's flags, on its own `FlagValues`."""
    flags.DEFINE_enum(
        "dataset",
        None,
        ["criteo", "avazu", "frappe"],
        "Which raw format and statistics to imitate.",
        flag_values=values,
    )
    flags.DEFINE_integer(
        "rows", None, "Rows to write (frappe: in total over train/valid/test, split 70/20/10).", flag_values=values
    )
    flags.DEFINE_string(
        "output",
        None,
        "Output file (criteo: TSV like train.txt; avazu: CSV like train.csv; a .gz "
        "name compresses) or, for frappe, a directory for train/valid/test.csv + "
        "schema.yaml. The planted model's figures go to <output>.planted.json "
        "(frappe: <output>/planted.json).",
        flag_values=values,
    )
    flags.DEFINE_integer("seed", 0, "Random seed: the same seed and arguments give the same bytes.", flag_values=values)
    flags.DEFINE_integer(
        "heldout_rows",
        0,
        "Held-out rows for the planted model's AUC (0: max(20000, rows // 5), at most 1,000,000).",
        lower_bound=0,
        flag_values=values,
    )
    flags.DEFINE_float(
        "signal", 1.0, "Scale of the planted logit's variable part (higher: easier, higher AUC).", flag_values=values
    )
    flags.DEFINE_float(
        "first_order",
        0.3,
        "Weight of the planted logit's per-field (additive) part, against the pair "
        "interactions' fixed weight: 0.3 leaves almost all the signal to the pairs.",
        flag_values=values,
    )
    flags.DEFINE_integer(
        "chunk_rows",
        0,
        "Criteo only: draw and write this many rows at a time (0: all at once), so that memory stays flat "
        "at any --rows; the same seed and --chunk_rows give the same bytes.",
        lower_bound=0,
        flag_values=values,
    )
    flags.DEFINE_integer(
        "pairs",
        0,
        "Number of planted interacting field pairs (0: max(3, fields // 2)).",
        lower_bound=0,
        flag_values=values,
    )
    flags.DEFINE_integer(
        "max_cardinality",
        0,
        "Cap on each categorical field's number of distinct values (0: the "
        "published cardinality, capped at 4 x rows). Small samples need a low cap for their planted "
        "pair interactions to be learnable from the rows they have.",
        lower_bound=0,
        flag_values=values,
    )


def _hex8(values: np.ndarray) -> np.ndarray:
    """uint32 values -> 8 lowercase hex digits each (bytes), vectorised."""
    v = values.astype(np.uint64) & np.uint64(0xFFFFFFFF)
    shifts = np.arange(28, -4, -4, dtype=np.uint64)
    nib = ((v[:, None] >> shifts[None, :]) & np.uint64(0xF)).astype(np.int64)
    chars = np.frombuffer(b"0123456789abcdef", dtype="S1")[nib]
    return np.ascontiguousarray(chars).view("S8").ravel()


def _mix(x: np.ndarray, salt: int) -> np.ndarray:
    """splitmix64 of x ^ salt: distinct-looking, deterministic tokens."""
    with np.errstate(over="ignore"):
        z = x.astype(np.uint64) + np.uint64((salt * 0x9E3779B97F4A7C15) % (1 << 64))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


class Generator:
    """Draws field values (as ranks) and labels for one dataset's statistics."""

    def __init__(
        self,
        dataset: str,
        rows: int,
        seed: int,
        signal: float = 1.0,
        max_cardinality: int = 0,
        pairs: int = 0,
        first_order: float = 0.3,
    ):
        self.dataset, self.stats = dataset, STATS[dataset]
        self.rng = np.random.default_rng(seed)
        self.seed, self.signal, self.first_order = seed, signal, first_order
        self.fields: List[str] = list(self.stats.get("integer", {})) + list(self.stats["categorical"])
        cap = max_cardinality or max(4 * rows, 1000)
        self.card: Dict[str, int] = {}
        self.probs: Dict[str, np.ndarray] = {}
        for name, k in self.stats["categorical"].items():
            k_eff = int(min(k, cap))
            self.card[name] = k_eff
            self.probs[name] = zipf_probabilities(k_eff, self.stats.get("top1_share", {}).get(name), s=1.05)
        # the planted model, over value ranks (+1 id: missing; integers: 64 log-square buckets)
        self.num_ids = {f: (self.card[f] if f in self.card else 64) + 1 for f in self.fields}
        self.planted = PlantedModel(
            self.rng,
            [self.num_ids[f] for f in self.fields],
            self.stats["positive_rate"],
            pairs=pairs,
            first_order=first_order,
            signal=signal,
        )
        self.first = dict(zip(self.fields, self.planted.first))
        self.token_cache: Dict[str, np.ndarray] = {}
        self.pairs = self.planted.pairs

    def draw(self, n: int):
        """(values: dict field -> int64 ranks or raw integers, missing: dict field -> bool, ids for the model)."""
        values, missing = {}, {}
        for name, (p50, p75, lo, hi) in self.stats.get("integer", {}).items():
            mu = math.log(p50 + 1.0)
            sigma = max((math.log(p75 + 1.0) - mu) / 0.6745, 0.35)
            v = np.floor(np.exp(self.rng.normal(mu, sigma, n))).astype(np.int64) - 1
            v = np.maximum(v, 0)
            if lo < 0:
                v = np.where(self.rng.random(n) < 0.02, self.rng.integers(lo, 0, n, endpoint=True), v)
            values[name] = np.clip(v, lo, hi)
        for name in self.stats["categorical"]:
            values[name] = sample(self.rng, self.probs[name], n)
        for name in self.fields:
            missing[name] = np.zeros(n, bool)
        for group, rate in self.stats.get("missing_groups", []):
            m = self.rng.random(n) < rate
            for name in group:
                missing[name] = missing[name] | m
        ids = {}
        for name in self.fields:
            if name in self.card:
                x = values[name]
            else:  # integers: the model sees about their log-square bucket (float64 is close enough here)
                v = values[name]
                bucket = np.where(v > 2, np.floor(np.log(np.maximum(v, 1)) ** 2), v - 2).astype(np.int64)
                x = np.clip(bucket + 8, 0, 62)
            ids[name] = np.where(missing[name], self.num_ids[name] - 1, x)
        return values, missing, ids

    def tokens(self, name: str) -> np.ndarray:
        """The categorical field's values as 8-hex-digit tokens, by rank (made once per field)."""
        if name not in self.token_cache:
            salt = sum(ord(c) * 131**i for i, c in enumerate(name)) + 7919 * self.seed
            self.token_cache[name] = _hex8(_mix(np.arange(self.card[name], dtype=np.uint64), salt))
        return self.token_cache[name]

    def logits(self, ids) -> np.ndarray:
        """The planted logit of rows given as field -> ids (the bias is fitted to the published rate)."""
        return self.planted.logits([ids[f] for f in self.fields])

    def labels(self, logits: np.ndarray) -> np.ndarray:
        return self.planted.labels(logits)


def _lines(columns: List, sep: str) -> bytes:
    """columns: pyarrow string arrays (no nulls) -> their delimited lines."""
    import pyarrow as pa
    import pyarrow.compute as pc

    last = pc.binary_join_element_wise(columns[-1], pa.array([""] * len(columns[-1]), pa.string()), "\n")
    joined = pc.binary_join_element_wise(*columns[:-1], last, sep)
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32, count=len(joined) + 1, offset=joined.offset * 4)
    return bytes(joined.buffers()[2].to_pybytes()[offsets[0] : offsets[-1]])


@contextlib.contextmanager
def _output(path: str) -> Iterator[Any]:
    """A file written atomically, gzip-compressed when its name ends in .gz."""
    with atomic_open(path, "wb", fsync=False) as raw:
        if path.endswith(".gz"):
            with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0, filename="") as f:
                yield f
        else:
            yield raw


def _write_lines(path: str, columns: List, sep: str, header: Optional[str] = None) -> None:
    """columns: pyarrow string arrays (no nulls) -> delimited lines, written atomically."""
    data = _lines(columns, sep)
    if header is not None:
        data = (header + "\n").encode() + data
    with _output(path) as out:
        out.write(data)


def _int_strings(values: np.ndarray, missing: np.ndarray):
    import pyarrow as pa
    import pyarrow.compute as pc

    s = pc.cast(pa.array(values), pa.string())
    return pc.if_else(pa.array(missing), "", s)


def _hex_strings(gen: Generator, name: str, ranks: np.ndarray, missing: np.ndarray):
    import pyarrow as pa
    import pyarrow.compute as pc

    s = pa.array(gen.tokens(name)[ranks].astype("S8"), pa.binary()).cast(pa.string())
    return pc.if_else(pa.array(missing), "", s)


def generate(
    dataset: str,
    rows: int,
    output: str,
    seed: int = 0,
    heldout_rows: int = 0,
    signal: float = 1.0,
    max_cardinality: int = 0,
    first_order: float = 0.3,
    pairs: int = 0,
    chunk_rows: int = 0,
) -> Dict:
    """Writes `rows` rows of `dataset`'s raw format to `output` and the planted model's figures beside it;
    returns those figures.

    `chunk_rows` (Criteo only): draw and write that many rows at a time, so that memory stays flat
    whatever `rows` is (45.8M rows drawn at once take about 20 GB). Rows are drawn the same way,
    in another order of draws: the same seed and `chunk_rows` give the same bytes.
    """
    if rows < 1:
        raise UsageError("--rows must be >= 1")
    if chunk_rows < 0 or (chunk_rows and dataset != "criteo"):
        raise UsageError("--chunk_rows is >= 1 and writes Criteo only (Avazu's rows are in hour order, Frappe's split)")
    gen = Generator(dataset, rows, seed, signal, max_cardinality, pairs=pairs, first_order=first_order)
    held = heldout_rows or min(max(20_000, rows // 5), 1_000_000)
    if chunk_rows and rows > chunk_rows:
        labels, logits = _write_criteo_in_chunks(gen, rows, chunk_rows, output)
        h_labels, h_logits = heldout(gen, held)
        planted_path = output + ".planted.json"
    else:
        values, missing, ids = gen.draw(rows)
        logits = gen.logits(ids)
        labels = gen.labels(logits)
        h_labels, h_logits = heldout(gen, held)  # drawn before the writers, which draw too (Avazu's hours)
        writers = {"criteo": _write_criteo, "avazu": _write_avazu}
        planted_path = writers.get(dataset, _write_frappe)(gen, values, missing, labels, output)
    info = {
        "dataset": dataset,
        "rows": rows,
        "seed": seed,
        "signal": signal,
        "max_cardinality": max_cardinality,
        "first_order": first_order,
        **_heldout_figures(h_labels, h_logits),
        "heldout_rows": held,
        "planted_auc_written_rows": round(auc(labels, logits), 6),
        "positive_rate": round(float(labels.mean()), 6),
        "interaction_pairs": [[gen.fields[i], gen.fields[j]] for i, j in gen.pairs],
        "note": "AUC of the true click probabilities on rows drawn like the data but not written: the ceiling "
        "for a learner trained on the written rows",
    }
    atomic_write(planted_path, json.dumps(info, indent=1) + "\n", fsync=False)
    return info


def heldout(gen: Generator, rows: int) -> Tuple[np.ndarray, np.ndarray]:
    """Labels and planted logits of `rows` rows drawn like the data but not written."""
    _, _, ids = gen.draw(rows)
    logits = gen.logits(ids)
    return gen.labels(logits), logits


def _heldout_figures(labels: np.ndarray, logits: np.ndarray) -> Dict[str, float]:
    p = 1 / (1 + np.exp(-logits))
    eps = 1e-12
    return {
        "planted_auc_heldout": round(auc(labels, logits), 6),
        "planted_logloss_heldout": round(
            float(-np.mean(labels * np.log(p + eps) + (1 - labels) * np.log(1 - p + eps))), 6
        ),
    }


def _label_column(labels: np.ndarray):
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.cast(pa.array(labels), pa.string())


def _write_criteo(gen: Generator, values, missing, labels: np.ndarray, output: str) -> str:
    """train.txt's format: label, I1..I13, C1..C26, tab-separated; returns the planted figures' path."""
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    _write_lines(output, _criteo_columns(gen, values, missing, labels), "\t")
    return output + ".planted.json"


def _criteo_columns(gen: Generator, values, missing, labels: np.ndarray) -> List:
    cols = [_label_column(labels)]
    cols += [_int_strings(values[f], missing[f]) for f in STATS["criteo"]["integer"]]
    cols += [_hex_strings(gen, f, values[f], missing[f]) for f in STATS["criteo"]["categorical"]]
    return cols


def _write_criteo_in_chunks(gen: Generator, rows: int, chunk_rows: int, output: str) -> Tuple[np.ndarray, np.ndarray]:
    """`_write_criteo` a chunk at a time; returns every row's label and planted logit."""
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    labels, logits = np.zeros(rows, np.uint8), np.zeros(rows, np.float32)
    with _output(output) as out:
        for start in range(0, rows, chunk_rows):
            values, missing, ids = gen.draw(min(chunk_rows, rows - start))
            part_logits = gen.logits(ids)
            part_labels = gen.labels(part_logits)
            out.write(_lines(_criteo_columns(gen, values, missing, part_labels), "\t"))
            labels[start : start + len(part_labels)] = part_labels
            logits[start : start + len(part_labels)] = part_logits
    return labels, logits


def _write_avazu(gen: Generator, values, missing, labels: np.ndarray, output: str) -> str:
    """train.csv's format, rows in hour order as the real file; returns the planted figures' path."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from tfrecord_tools.formats import AVAZU_COLUMNS

    st, rows = STATS["avazu"], len(labels)
    order = np.argsort(values["hour"], kind="stable")  # chronological, as train.csv
    hours = np.asarray([14102100 + 100 * (h // 24) + h % 24 for h in range(240)], np.int64)
    # hour ranks are skewed by the Zipf draw; map rank r to the r-th hour of a shuffled list
    hour_of_rank = gen.rng.permutation(hours)
    values = {k: v[order] for k, v in values.items()}
    ids_col = pc.cast(pa.array(_mix(np.arange(rows, dtype=np.uint64), gen.seed + 17)), pa.string())
    hour_values = np.sort(hour_of_rank[values["hour"] % 240])
    cols = [ids_col, _label_column(labels[order]), pc.cast(pa.array(hour_values), pa.string())]
    for f in list(st["categorical"])[1:]:
        none = np.zeros(rows, bool)
        if f in st["decimal"]:
            base = {"C20": 100000, "C14": 15000, "C17": 1700, "C21": 10, "C1": 1001}.get(f, 0)
            v = values[f] + base
            if f == "C20":
                v = np.where(values[f] == 0, -1, v)
            cols.append(_int_strings(v, none))
        else:
            cols.append(_hex_strings(gen, f, values[f], none))
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    _write_lines(output, cols, ",", header=",".join(AVAZU_COLUMNS))
    return output + ".planted.json"


def _write_frappe(gen: Generator, values, missing, labels: np.ndarray, output: str) -> str:
    """Frappe_x1's format: globally indexed ids, a train/valid/test split and its schema, in the folder
    `output`; returns the planted figures' path."""
    import pyarrow as pa
    import pyarrow.compute as pc

    st, rows = STATS["frappe"], len(labels)
    os.makedirs(output, exist_ok=True)
    offset, cols = 0, [_label_column(labels)]
    for f, k in st["categorical"].items():
        cols.append(pc.cast(pa.array(values[f] + offset), pa.string()))
        offset += k
    total = sum(st["split_rows"].values())
    sizes = [int(round(rows * st["split_rows"][s] / total)) for s in ("train", "valid")]
    bounds = [0, sizes[0], sizes[0] + sizes[1], rows]
    header = ",".join(["label"] + list(st["categorical"]))
    for s, a, b in zip(("train", "valid", "test"), bounds[:-1], bounds[1:]):
        _write_lines(os.path.join(output, f"{s}.csv"), [c.slice(a, b - a) for c in cols], ",", header=header)
    with open(os.path.join(output, "schema.yaml"), "w") as f:
        f.write(
            "dataset: frappe_synthetic\nformat: csv\nheader: true\nlabel: label\n"
            f"categorical: [{', '.join(st['categorical'])}]\n"
            "splits: {train: train.csv, valid: valid.csv, test: test.csv}\n"
        )
    return os.path.join(output, "planted.json")


def run(values: Any, args: List[str]) -> dict:
    for name in ("dataset", "rows", "output"):
        if values[name].value is None:
            raise UsageError(f"--{name} is required")
    info = generate(
        values.dataset,
        values.rows,
        values.output,
        values.seed,
        values.heldout_rows,
        values.signal,
        values.max_cardinality,
        values.first_order,
        values.pairs,
        values.chunk_rows,
    )
    print(
        f"wrote {values.rows:,} {values.dataset} rows to {values.output}; planted model AUC on "
        f"{info['heldout_rows']:,} held-out rows {info['planted_auc_heldout']:.4f}, positive rate "
        f"{info['positive_rate']:.4f}"
    )
    return info


def main(argv: Optional[Sequence[str]] = None) -> None:
    from mezoo.command import run_command

    run_command(__doc__, define_flags, run, argv, program="python -m tfrecord_tools.synthetic")


if __name__ == "__main__":
    main()
