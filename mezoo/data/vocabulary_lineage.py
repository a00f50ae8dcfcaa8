"""A conversion's lineage: which earlier conversion its vocabularies grew from (`--vocabulary_from`).

A conversion made with `--vocabulary_from DIR` records in its `feature_spec.json`

    "generation": N,                       # 1 for a fresh conversion, the parent's + 1 otherwise
    "parent": {"path": "/abs/DIR", "vocabularies_sha256": vocabularies_digest(DIR)}   # or null

so that a run warm-started from a model trained on DIR can check that DIR's vocabularies are the
ones the new conversion grew from (every old value kept its id): `vocabularies_digest(parent
path) == spec["parent"]["vocabularies_sha256"]`, or, without the parent at hand, the digest of
the run's copy of the parent's vocabularies. No TensorFlow needed (local paths; remote ones
through TensorFlow's file system).
"""

import hashlib
from typing import Any, Dict, Optional

from mezoo.data.feature_spec import FeatureSpec

FRESH_GENERATION = 1


def vocabularies_digest(spec_dir: str) -> str:
    """The sha256 (hex) of a conversion's vocabularies: over its fields in spec order, each as
    `name`, NUL, the byte length of its vocabulary file in decimal, NUL, the file's bytes.

    Framing each file by its field's name and length makes the digest tell apart vocabularies
    that only moved a line from one field to the next. A field without a vocabulary file (a spec
    of ids only) counts as an empty file.

    Args:
        spec_dir: a converted directory (or its feature_spec.json).
    """
    spec = FeatureSpec.load(spec_dir)
    digest = hashlib.sha256()
    for field in spec.fields:
        data = read_bytes(spec.resolve(field["vocabulary"])) if "vocabulary" in field else b""
        digest.update(str(field["name"]).encode("utf-8", "surrogatepass") + b"\0")
        digest.update(str(len(data)).encode() + b"\0" + data)
    return digest.hexdigest()


def generation(spec: Dict[str, Any]) -> int:
    """A spec's generation: `generation`, or 1 for a spec written before generations were recorded."""
    return int(spec.get("generation") or FRESH_GENERATION)


def parent(spec: Dict[str, Any]) -> Optional[Dict[str, str]]:
    """A spec's parent (`{"path", "vocabularies_sha256"}`), or None for a fresh conversion."""
    return spec.get("parent")


def read_bytes(path: str) -> bytes:
    if "://" in path:
        import tensorflow as tf

        with tf.io.gfile.GFile(path, "rb") as f:
            remote: bytes = f.read()
        return remote
    with open(path, "rb") as f:
        return f.read()
