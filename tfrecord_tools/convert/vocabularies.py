"""Each field's vocabulary: tokens counted at least `min_count` times, in id order, capped by `--max_vocab_size`.

Kept tokens take ids 1.. in descending count, ties by token (bytes order; integer fields by
value, the missing token first); id 0 is the field's OOV id.
"""

import dataclasses
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from tfrecord_tools.convert.counting import TokenCounter, kept_mask
from tfrecord_tools.convert.options import Options
from tfrecord_tools.convert.vocabulary_parent import Parent, grow, parent_keys, present_tokens


@dataclasses.dataclass(frozen=True)
class FieldVocabulary:
    """One field's vocabulary: its kept tokens in id order (id = position + 1) and how many distinct it saw."""

    name: str
    tokens: Tuple[bytes, ...]
    distinct_values: int
    appended: int = 0  # with --vocabulary_from: tokens added after the parent's
    unseen: int = 0  # with --vocabulary_from: the parent's tokens the new data lacks

    @property
    def vocab_size(self) -> int:
        """Ids of the field, the OOV id 0 included."""
        return len(self.tokens) + 1


def vocabulary_cap(opts: Options, name: str) -> Optional[int]:
    """The field's `--max_vocab_size` (a per-field cap, else the `*` one, else none)."""
    return opts.max_vocab_size.get(name, opts.max_vocab_size.get("*"))


def build_vocabulary(keys, counts, is_integer: bool, min_count: int, max_size: Optional[int]) -> List[bytes]:
    """Kept tokens in id order: count >= min_count, descending count, ties by token."""
    from mezoo.data.transform import integer_token

    keep = kept_mask(counts, min_count)
    keys, counts = keys[keep], counts[keep]
    if is_integer:
        order = np.lexsort((keys, -counts))
        tokens = [integer_token(k) for k in keys[order]]
    else:
        # ties by token bytes: sort by token first, then stable by descending count
        by_token = np.asarray(sorted(range(len(keys)), key=lambda i: keys[i]), dtype=np.int64)
        order = by_token[np.argsort(-counts[by_token], kind="stable")]
        tokens = [bytes(keys[i]) for i in order]
    if max_size is not None and len(tokens) > max_size - 1:
        tokens = tokens[: max(max_size - 1, 0)]
    return tokens


def build_vocabularies(
    fields: Sequence[Dict], counters: List[TokenCounter], opts: Options, parent: Optional[Parent] = None
) -> List[FieldVocabulary]:
    """Each field's vocabulary (`field_vocabulary` with --min_count, --max_vocab_size and the parent's)."""
    from concurrent.futures import ThreadPoolExecutor

    def kept(field_counter):
        field, counter = field_counter
        return counter.kept(opts.min_count, also=known_keys(parent, field["name"], counter.is_integer))

    with ThreadPoolExecutor(max(1, opts.parallel)) as pool:  # the merges run in Arrow, without the GIL
        counted = list(pool.map(kept, zip(fields, counters)))
    return [
        field_vocabulary(field["name"], keys, counts, int(distinct), counter.is_integer, opts, parent)
        for field, counter, (keys, counts, distinct) in zip(fields, counters, counted)
    ]


def known_keys(parent: Optional[Parent], name: str, is_integer: bool):
    """The parent's tokens of a field as counter keys (counted even under --min_count, to tell unseen ones), or None."""
    return None if parent is None else parent_keys(parent.vocabularies[name], is_integer)


def field_vocabulary(
    name: str, keys, counts, distinct: int, is_integer: bool, opts: Options, parent: Optional[Parent]
) -> FieldVocabulary:
    """A field's vocabulary from its counted keys (those passing --min_count, and with a parent the
    parent's that were counted at all): fresh, or the parent's grown (`vocabulary_parent.grow`)."""
    cap = vocabulary_cap(opts, name)
    if parent is None:
        return FieldVocabulary(name, tuple(build_vocabulary(keys, counts, is_integer, opts.min_count, cap)), distinct)
    old = parent.vocabularies[name]
    tokens, appended = grow(old, build_vocabulary(keys, counts, is_integer, opts.min_count, None), cap)
    present = present_tokens(keys, is_integer)
    unseen = sum(1 for token in old if token not in present)
    return FieldVocabulary(name, tuple(tokens), distinct, appended, unseen)


def spec_fields(fields: Sequence[Dict], vocabularies: Sequence[FieldVocabulary]) -> List[Dict]:
    """The spec's field entries: each layout field (without its column), its vocab_size and vocabulary file."""
    from mezoo.data.feature_spec import vocabulary_path

    return [
        {
            **{k: v for k, v in field.items() if k != "column"},
            "vocab_size": vocab.vocab_size,
            "vocabulary": vocabulary_path(field["name"]),
        }  # fmt: skip
        for field, vocab in zip(fields, vocabularies)
    ]
