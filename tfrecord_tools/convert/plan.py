"""Where every accepted row goes: its split and its position there, and the shards each split takes."""

import dataclasses
from typing import Dict, List, Optional, Sequence, cast

import numpy as np

from mezoo.data.raw.rules import SPLITS


@dataclasses.dataclass(frozen=True)
class SplitPlan:
    """The seeded split of the accepted rows (input order) and each split's shards.

    Attributes:
        names: the splits that get rows, in order.
        rows: rows per split, every split name (unused ones with 0).
        split_of_row: each row's split, an index into `list(rows)`.
        position: each row's position in its split (train rows shuffled, the others in input order).
        num_shards: shards per used split.
    """

    names: List[str]
    rows: Dict[str, int]
    split_of_row: np.ndarray
    position: np.ndarray
    num_shards: Dict[str, int]


def id_dtype(vocab_total: int) -> type:
    """The integer type a conversion's ids are spooled in: int32 unless the vocabularies need more."""
    return np.int32 if vocab_total < 2**31 else np.int64


def assign_splits(
    valid_per_file: Sequence[int], file_splits: Sequence[Optional[str]], ratios: Sequence[float], seed: int
):
    """The exact seeded split of the accepted rows (in input order) and each row's position in its split.

    Returns (split names in use, split_rows {name: rows} over all names, split_of_row int8
    (index into list(split_rows)), position int64): with given splits (file_splits) each file's
    rows go to its split, else a seeded permutation of exactly rounded split sizes (train takes
    the rest); train rows get seeded random positions (a uniform shuffle), the others keep
    input order. Both converters call this one function, so they split identically.
    """
    rng = np.random.default_rng(seed)
    n_valid = int(sum(valid_per_file))
    if any(file_splits):
        given = cast(Sequence[str], file_splits)  # with given splits, every file has one
        names = [s for s in SPLITS if any(f == s for f in given)]
        names += sorted(set(given) - set(names))
        split_of_row = np.concatenate(
            [np.full(n, names.index(s), np.int8) for n, s in zip(valid_per_file, given)] or [np.zeros(0, np.int8)]
        )
    else:
        fractions = np.asarray(ratios, dtype=np.float64)
        fractions = fractions / fractions.sum()
        names = list(SPLITS[: len(fractions)])
        sizes = np.floor(fractions * n_valid + 0.5).astype(np.int64)
        sizes[0] = n_valid - sizes[1:].sum()
        split_of_row = rng.permutation(np.repeat(np.arange(len(names), dtype=np.int8), sizes))
    split_rows = {name: int((split_of_row == i).sum()) for i, name in enumerate(names)}
    used = [n for n in names if split_rows[n] > 0]
    position = np.zeros(n_valid, np.int64)
    for i, name in enumerate(list(split_rows)):
        idx = np.nonzero(split_of_row == i)[0]
        position[idx] = rng.permutation(len(idx)) if name == "train" else np.arange(len(idx))
    return used, split_rows, split_of_row, position


def shard_counts(names: List[str], split_rows: Dict[str, int], rows_per_shard: int) -> Dict[str, int]:
    """Shards per split: ceil(rows / rows_per_shard), and one (empty) shard for an empty split."""
    return {n: max(1, -(-split_rows[n] // rows_per_shard)) for n in names}


def plan_splits(
    valid_per_file: Sequence[int],
    file_splits: Sequence[Optional[str]],
    ratios: Sequence[float],
    seed: int,
    rows_per_shard: int,
) -> SplitPlan:
    """`assign_splits` and `shard_counts` as one `SplitPlan` (both converters call this)."""
    names, rows, split_of_row, position = assign_splits(valid_per_file, file_splits, ratios, seed)
    return SplitPlan(names, rows, split_of_row, position, shard_counts(names, rows, rows_per_shard))


def shard_pieces(split_names: List[str], split_of: np.ndarray, position: np.ndarray, rows_per_shard: int):
    """(split name, shard, row indices) of a batch of rows, given each row's split index and
    position in its split: the rows that go to one shard, in batch order."""
    for si, name in enumerate(split_names):
        sel = np.nonzero(split_of == si)[0]
        if not len(sel):
            continue
        shard = position[sel] // rows_per_shard
        order = np.argsort(shard, kind="stable")
        sel, shard = sel[order], shard[order]
        bounds = np.nonzero(np.diff(shard))[0] + 1
        for part in np.split(np.arange(len(sel)), bounds):
            yield name, int(shard[part[0]]), sel[part]
