"""A conversion's scratch files: each kept chunk's distinct values and row indices, and the per-shard spool."""

import os
from typing import Any, BinaryIO, Dict, Iterator, Sequence, Tuple

import numpy as np


def keep_chunk(
    base: str,
    labels: np.ndarray,
    dense: np.ndarray,
    index: np.ndarray,
    values: Tuple[np.ndarray, np.ndarray, bytes],
    numeric: bool,
) -> None:
    """Writes a chunk's accepted rows to `base`.{idx,lab,dense,len,siz,val}: each row's indices,
    labels, dense values, and the distinct values of each field (`arrow_parse.pack_values`)."""
    write_array(base + ".idx", index.astype(np.int32))
    write_array(base + ".lab", labels.astype(np.uint8))
    if numeric:
        write_array(base + ".dense", dense.astype(np.float32))
    lengths, sizes, data = values
    write_array(base + ".len", lengths.astype(np.int32))
    write_array(base + ".siz", sizes.astype(np.int32))
    with open(base + ".val", "wb") as f:
        f.write(data)


def write_array(path: str, array: np.ndarray) -> None:
    """`array.tofile(path)`, but a full disk is OSError(ENOSPC), not numpy's "N requested and M written"."""
    with open(path, "wb") as f:
        f.write(np.ascontiguousarray(array).data)


KEPT_SUFFIXES = (".val", ".len", ".siz", ".idx", ".lab", ".dense")


def read_kept_chunks(
    chunk_dir: str, chunk_rows: Sequence[int], num_fields: int, numeric: bool
) -> Iterator[Tuple[Any, ...]]:
    """The chunks of `keep_chunk`, in order, as (joined values, lengths, values per field,
    index, labels, dense); each removed once read."""
    for k, rows in enumerate(chunk_rows):
        base = os.path.join(chunk_dir, str(k))
        with open(base + ".val", "rb") as f:
            data = f.read()
        lengths = np.fromfile(base + ".len", np.int32)
        sizes = np.fromfile(base + ".siz", np.int32)
        index = np.fromfile(base + ".idx", np.int32).reshape(rows, num_fields)
        labels = np.fromfile(base + ".lab", np.uint8)
        dense = (
            np.fromfile(base + ".dense", np.float32).reshape(rows, -1) if numeric else np.zeros((rows, 0), np.float32)
        )
        for ext in KEPT_SUFFIXES:
            if os.path.exists(base + ext):
                os.remove(base + ext)
        yield data, lengths, sizes, index, labels, dense


class Spool:
    """Per-shard spool files (`<split>-<shard>.{pos,ids,lab,dense}`), opened on first use."""

    def __init__(self, directory: str):
        self.directory = directory
        self.handles: Dict[Tuple[str, int, str], BinaryIO] = {}
        os.makedirs(directory)

    def write(self, split: str, shard: int, kind: str, data: np.ndarray) -> None:
        key = (split, shard, kind)
        if key not in self.handles:
            self.handles[key] = open(os.path.join(self.directory, f"{split}-{shard}.{kind}"), "ab")
        self.handles[key].write(data.tobytes())

    def close(self) -> None:
        for h in self.handles.values():
            h.close()
