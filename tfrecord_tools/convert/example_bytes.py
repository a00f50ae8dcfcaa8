"""The converter's serialized Examples, built in numpy: the bytes of `mezoo.data.examples.serialize_examples`.

`serialize_examples` (TF `encode_proto`, five nested messages per row) is the definition of a
record; the shard writer builds the same bytes here, a batch at a time, as one uint8 matrix
(row = one record, with a mask of the bytes in use) and is checked against it in
`tests/tfrecord_tools/test_example_bytes.py`. A record, for F ids and D dense values:

    Example{features: Features{feature: [
        {key: "label", value: Feature{float_list: FloatList{value: [label]}}},
        {key: "ids",   value: Feature{int64_list: Int64List{value: ids (packed varints)}}},
        {key: "dense", value: Feature{float_list: FloatList{value: dense}}}  (only when D > 0)
    ]}}

Only the ids' varints differ in length between rows; every length prefix is a varint too.
"""

from typing import List, Optional, Tuple

import numpy as np


def varint_bytes(values: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Non-negative int64 values (any shape) -> (bytes (..., width) uint8, mask (..., width) bool):
    each value's protobuf varint in the first bytes of its row (mask), width the longest of them."""
    v = np.asarray(values)
    vmax = int(v.max()) if v.size else 0
    v = v.astype(np.uint32 if vmax < 2**32 else np.uint64)
    kind = v.dtype.type
    width = 1
    while width < 10 and vmax >= 1 << (7 * width):
        width += 1
    out = np.empty(v.shape + (width,), np.uint8)
    mask = np.ones(v.shape + (width,), bool)
    for k in range(width):
        byte = ((v >> kind(7 * k)) & kind(0x7F)).astype(np.uint8)
        if k + 1 < width:  # the continuation bit: more bytes follow
            byte |= (v >= kind(1 << (7 * (k + 1)))).astype(np.uint8) << np.uint8(7)
        out[..., k] = byte
        if k:
            mask[..., k] = v >= kind(1 << (7 * k))
    return out, mask


def _varint_len(values: np.ndarray) -> np.ndarray:
    """The byte length of each value's varint."""
    v = np.asarray(values, np.uint64)
    length = np.ones(v.shape, np.int64)
    for k in range(1, 10):
        length += v >= np.uint64(1) << np.uint64(7 * k)
    return length


def _constant(data: bytes, n: int) -> Tuple[np.ndarray, np.ndarray]:
    block = np.broadcast_to(np.frombuffer(data, np.uint8), (n, len(data)))
    return block, np.ones(block.shape, bool)


def _floats(values: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    block = np.ascontiguousarray(values, dtype="<f4").view(np.uint8).reshape(values.shape[0], 4 * values.shape[1])
    return block, np.ones(block.shape, bool)


def serialize_examples(
    labels: np.ndarray, ids: np.ndarray, dense: Optional[np.ndarray] = None
) -> Tuple[np.ndarray, np.ndarray]:
    """labels (n,), ids (n, F) non-negative integers (F >= 1), dense (n, D) or None -> (records: all
    records' bytes joined, uint8; lengths (n,) int64): the bytes of
    `mezoo.data.examples.serialize_examples` for the same arguments."""
    ids = np.asarray(ids)  # int32 stays int32: no int64 copy of the shard
    n, num_fields = ids.shape
    if num_fields < 1 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError("at least one integer id per row")
    if ids.size and ids.min() < 0:
        raise ValueError("ids are non-negative")
    if n == 0:
        return np.zeros(0, np.uint8), np.zeros(0, np.int64)
    label_bytes = _floats(np.asarray(labels, np.float32).reshape(n, 1))
    id_bytes, id_mask = varint_bytes(ids)
    payload = id_mask.sum(axis=(1, 2))  # packed ids, bytes per row
    int64_list = 1 + _varint_len(payload) + payload  # Int64List{value}
    feature = 1 + _varint_len(int64_list) + int64_list  # Feature{int64_list}
    ids_entry = 5 + 1 + _varint_len(feature) + feature  # FeatureEntry{key "ids", value}
    label_entry = 17  # FeatureEntry{key "label", value: Feature{FloatList{one float}}}
    blocks: List[Tuple[np.ndarray, np.ndarray]] = []
    dense_blocks: List[Tuple[np.ndarray, np.ndarray]] = []
    features = 2 + label_entry + 1 + _varint_len(ids_entry) + ids_entry
    if dense is not None:
        d = np.asarray(dense, np.float32).reshape(n, -1)
        floats = 4 * d.shape[1]
        float_list = 1 + int(_varint_len(np.array(floats))) + floats
        dfeature = 1 + int(_varint_len(np.array(float_list))) + float_list
        dentry = 7 + 1 + int(_varint_len(np.array(dfeature))) + dfeature
        head = (
            b"\x0a"
            + _varint_py(dentry)
            + b"\x0a\x05dense\x12"
            + _varint_py(dfeature)
            + b"\x12"
            + _varint_py(float_list)
            + b"\x0a"
            + _varint_py(floats)
        )
        dense_blocks = [_constant(head, n), _floats(d)]
        features = features + 1 + _varint_len(np.array(dentry)) + dentry
    blocks += [
        _constant(b"\x0a", n),
        varint_bytes(features),
        _constant(b"\x0a\x11\x0a\x05label\x12\x08\x12\x06\x0a\x04", n),
        label_bytes,
        _constant(b"\x0a", n),
        varint_bytes(ids_entry),
        _constant(b"\x0a\x03ids\x12", n),
        varint_bytes(feature),
        _constant(b"\x1a", n),
        varint_bytes(int64_list),
        _constant(b"\x0a", n),
        varint_bytes(payload),
        (id_bytes.reshape(n, -1), id_mask.reshape(n, -1)),
    ] + dense_blocks
    matrix = np.concatenate([b for b, _ in blocks], axis=1)
    mask = np.concatenate([m for _, m in blocks], axis=1)
    return matrix[mask], mask.sum(axis=1)


def _varint_py(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
