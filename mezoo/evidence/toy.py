"""The interaction-collapse toy of docs/method.md §5 claim 2, built from the zoo's own parts.

Three categorical fields with `D1 = D2 = 100` and `D3` values; the data holds every `(x1, x2)`
pair once (10,000 rows), `x3` drawn uniformly, and random labels. Each field has a `D_i x K`
table drawn N(0, 1); the tables of fields 2 and 3 are frozen and only field 1's is trained,
with full-batch SGD (learning rate 1) on the binary cross-entropy of the FM logit
`sum_{i<j} <e_i, e_j>` (`mezoo.layers.FMInteraction`). The paper's law: IA(E1) ends lower
when field 3 has few values (`D3 = 3`) than many (`D3 = 100`): E1's gradient for a row `x1`
sums `e2 + e3` over that row's examples, and with three rows in E3 that sum is pulled toward
three directions, so E1 collapses toward a low-dimensional subspace.

IA is `mezoo.abundance.abundance_stats` (IA, normalised IA, effective rank).

Example:
>>> result = run_toy(dim=8, d3=3, seed=0, steps=20, record_every=10)
>>> [r["step"] for r in result.records]
[0, 10, 20]
"""

import csv
import dataclasses
import math
from typing import Dict, List, Optional, Sequence

import keras
import numpy as np
from keras import ops

from mezoo.abundance import abundance_stats
from mezoo.errors import BadInput, UsageError
from mezoo.evidence.figures import pyplot
from mezoo.layers import FMInteraction

D1 = D2 = 100
PAPER_D3 = (3, 100)


class ToyFileError(BadInput, ValueError):
    """A toy.csv that is not as `mezoo.toy` wrote it."""


def toy_data(d3: int, seed: int, d1: int = D1, d2: int = D2):
    """Every `(x1, x2)` pair once, `x3` uniform in `[0, d3)`, labels fair coin flips.

    Returns:
        `(ids, labels)`: int32 `(d1 * d2, 3)` and float32 `(d1 * d2, 1)`.
    """
    rng = np.random.default_rng([seed, 1])
    x1, x2 = np.meshgrid(np.arange(d1), np.arange(d2), indexing="ij")
    x3 = rng.integers(0, d3, size=d1 * d2)
    ids = np.stack([x1.reshape(-1), x2.reshape(-1), x3], axis=1).astype("int32")
    labels = rng.integers(0, 2, size=(d1 * d2, 1)).astype("float32")
    return ids, labels


def build_toy_model(dim: int, vocab_sizes: Sequence[int], seed: int, train_fields: Sequence[int] = (0,)):
    """A Keras model: one N(0, 1) table per field, FM interaction of the three, as a logit.

    Args:
        dim: embedding width K.
        vocab_sizes: rows of each field's table.
        seed: seeds the tables (each field its own stream).
        train_fields: indices of the fields whose tables train; the others are frozen.

    Returns:
        A `keras.Model` taking int ids `(batch, num_fields)` and returning logits `(batch, 1)`;
        table `i` is the layer named `embedding_{i}`.
    """
    ids = keras.Input((len(vocab_sizes),), dtype="int32", name="ids")
    columns = []
    for field, size in enumerate(vocab_sizes):
        table = keras.layers.Embedding(
            size,
            dim,
            embeddings_initializer=keras.initializers.RandomNormal(0.0, 1.0, seed=seed * 1000 + field),
            trainable=field in train_fields,
            name=f"embedding_{field}",
        )
        columns.append(table(ids[:, field]))
    logit = FMInteraction(name="fm")(ops.stack(columns, axis=1))
    return keras.Model(ids, logit, name="interaction_collapse_toy")


@dataclasses.dataclass
class ToyResult:
    """One training run of the toy: IA(E1) over steps and the tables before and after.

    Attributes:
        dim, d3, seed: the run's width, field-3 size and seed.
        records: dicts with `step`, `loss`, `ia`, `ia_normalised`, `erank` (of E1), in step order.
        initial_tables, final_tables: E1, E2, E3 as numpy arrays before and after training; None
            for a run read back from `toy.csv` (`read_csv`), which keeps only the records.
        final_loss: the last record's loss.

    Example:
    >>> run_toy(dim=4, d3=3, seed=0, steps=10, record_every=5).records[-1]["step"]
    10
    """

    dim: int
    d3: int
    seed: int
    records: List[Dict]
    initial_tables: Optional[List[np.ndarray]]
    final_tables: Optional[List[np.ndarray]]
    final_loss: float


def run_toy(
    dim: int,
    d3: int,
    seed: int,
    steps: int = 5000,
    learning_rate: float = 1.0,
    record_every: int = 100,
    train_fields: Sequence[int] = (0,),
    progress=None,
) -> ToyResult:
    """Trains the toy's E1 with full-batch SGD and records IA(E1) every `record_every` steps.

    Args:
        dim: embedding width K.
        d3: number of values of field 3.
        seed: seeds the data and the tables.
        steps: full-batch SGD steps.
        learning_rate: SGD learning rate (the paper: 1).
        record_every: measure E1 every this many steps (and at steps 0 and `steps`).
        train_fields: the trained tables (the paper: field 1 only, `(0,)`).
        progress: called with each record (a dict) as it is measured, or None.

    Returns:
        A `ToyResult` whose records hold `step`, `loss` and E1's `ia`, `ia_normalised`, `erank`.
    """
    if dim < 1 or d3 < 1 or steps < 0 or record_every < 1:
        raise UsageError(
            f"need dim >= 1, d3 >= 1, steps >= 0, record_every >= 1; got {dim}, {d3}, {steps}, {record_every}"
        )
    ids, labels = toy_data(d3, seed)
    model = build_toy_model(dim, (D1, D2, d3), seed, train_fields)
    # Full-batch steps run `chunk` at a time inside one compiled call (XLA on TensorFlow): the
    # per-call overhead would otherwise cost more than the step itself.
    chunk = math.gcd(steps, record_every) if steps else 1
    tensorflow = keras.backend.backend() == "tensorflow"
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        steps_per_execution=chunk if tensorflow else 1,
        jit_compile=tensorflow,
    )
    tables = [model.get_layer(f"embedding_{f}") for f in range(3)]
    initial = [keras.ops.convert_to_numpy(t.embeddings).copy() for t in tables]
    records = []

    def record(step, loss):
        stats = abundance_stats(keras.ops.convert_to_numpy(tables[0].embeddings))
        entry = {
            "dim": dim,
            "d3": d3,
            "seed": seed,
            "step": step,
            "loss": float(loss),
            "ia": stats["ia"],
            "ia_normalised": stats["ia_normalised"],
            "erank": stats["erank"],
        }
        records.append(entry)
        if progress:
            progress(entry)

    record(0, model.evaluate(ids, labels, batch_size=len(labels), verbose=0))
    _train_full_batch(model, ids, labels, steps, chunk, record_every, record)
    final = [keras.ops.convert_to_numpy(t.embeddings).copy() for t in tables]
    return ToyResult(dim, d3, seed, records, initial, final, records[-1]["loss"])


def _train_full_batch(model, ids, labels, steps: int, chunk: int, record_every: int, record) -> None:
    """`steps` full-batch steps of the compiled `model`, calling `record(step, loss)` every `record_every`
    steps and at the last; on TensorFlow `chunk` steps per compiled call."""
    if steps and keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        class Recorder(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                step = (epoch + 1) * chunk
                if step % record_every == 0 or step == steps:
                    record(step, logs["loss"])

        full_batch = tf.data.Dataset.from_tensors((ids, labels)).repeat()
        # A record's loss is the mean training loss of the `chunk` steps before it (Keras' epoch mean).
        model.fit(
            full_batch, steps_per_epoch=chunk, epochs=steps // chunk, shuffle=False, verbose=0, callbacks=[Recorder()]
        )
    else:
        x, y = ops.convert_to_tensor(ids), ops.convert_to_tensor(labels)
        for step in range(1, steps + 1):
            loss = model.train_on_batch(x, y)
            if step % record_every == 0 or step == steps:
                record(step, float(np.asarray(loss).reshape(-1)[0]))


def run_study(
    dim: int,
    seeds: Sequence[int],
    d3_values: Sequence[int] = PAPER_D3,
    steps: int = 5000,
    record_every: int = 100,
    learning_rate: float = 1.0,
    progress=None,
) -> List[ToyResult]:
    """`run_toy` for every `d3` and seed, in that order."""
    return [
        run_toy(dim, d3, seed, steps=steps, learning_rate=learning_rate, record_every=record_every, progress=progress)
        for seed in seeds
        for d3 in d3_values
    ]


def final_ia(results: Sequence[ToyResult]) -> Dict[int, Dict[int, float]]:
    """`{d3: {seed: IA(E1) at the last step}}`."""
    table: Dict[int, Dict[int, float]] = {}
    for result in results:
        table.setdefault(result.d3, {})[result.seed] = result.records[-1]["ia"]
    return table


def ordering_holds(results: Sequence[ToyResult], low: int = 3, high: int = 100) -> Dict[int, bool]:
    """Per seed: does IA(E1) end lower with `D3 = low` than with `D3 = high`?"""
    table = final_ia(results)
    return {seed: table[low][seed] < table[high][seed] for seed in sorted(table[low]) if seed in table[high]}


CSV_COLUMNS = ("dim", "d3", "seed", "step", "loss", "ia", "ia_normalised", "erank")


def write_csv(results: Sequence[ToyResult], path) -> None:
    """Every record of every run, long format (`CSV_COLUMNS`)."""
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for result in results:
            for entry in result.records:
                writer.writerow({k: entry[k] for k in CSV_COLUMNS})


def read_csv(path) -> List[ToyResult]:
    """The runs of a `toy.csv` written by `write_csv`, in file order, records only (no tables)."""
    runs: Dict[tuple, List[Dict]] = {}
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = set(CSV_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            names = ", ".join(sorted(missing))
            raise ToyFileError(f"{path}: no column(s) {names}; a toy.csv has {', '.join(CSV_COLUMNS)}")
        for line, row in enumerate(reader, start=2):
            try:
                entry = {k: (int(row[k]) if k in ("dim", "d3", "seed", "step") else float(row[k])) for k in CSV_COLUMNS}
            except (TypeError, ValueError):
                raise ToyFileError(f"{path}, line {line}: not a toy record: {row}") from None
            runs.setdefault((entry["dim"], entry["d3"], entry["seed"]), []).append(entry)
    results = []
    for (dim, d3, seed), records in runs.items():
        records.sort(key=lambda e: e["step"])
        results.append(ToyResult(dim, d3, seed, records, None, None, records[-1]["loss"]))
    return results


def plot(results: Sequence[ToyResult], path, title: Optional[str] = None) -> None:
    """IA(E1) and the training loss against step, one line per `D3` (mean over seeds, min-max band), as a PNG.

    The loss panel shows whether the run has converged; the legend sits below both panels so
    that it covers no curve.
    """
    plt = pyplot()
    fig, (ia_axis, loss_axis) = plt.subplots(1, 2, figsize=(11, 4.8), layout="constrained")
    dims = sorted({r.dim for r in results})
    for d3, color in zip(sorted({r.d3 for r in results}), ("tab:red", "tab:blue", "tab:green", "tab:purple")):
        runs = [r for r in results if r.d3 == d3]
        steps = np.array([e["step"] for e in runs[0].records])
        for axis, key in ((ia_axis, "ia"), (loss_axis, "loss")):
            values = np.array([[e[key] for e in r.records] for r in runs])
            axis.plot(steps, values.mean(axis=0), color=color, label=f"D3 = {d3} (mean of {len(runs)} seeds)")
            axis.fill_between(
                steps,
                values.min(axis=0),
                values.max(axis=0),
                color=color,
                alpha=0.2,
                label=f"D3 = {d3}, min-max over seeds",
            )
    for axis in (ia_axis, loss_axis):
        axis.set_xlabel("full-batch SGD step (only E1 trains)")
        axis.grid(alpha=0.3)
    ia_axis.set_ylabel(f"information abundance of E1 (100 x {dims[0]}; max {min(D1, dims[0])})")
    loss_axis.set_ylabel("training loss (binary cross-entropy, log scale)")
    loss_axis.set_yscale("log")
    handles, labels = ia_axis.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2)
    fig.suptitle(title or f"Interaction-collapse toy (docs/method.md §5 claim 2), K = {dims[0]}")
    fig.savefig(path, dpi=120)
    plt.close(fig)
