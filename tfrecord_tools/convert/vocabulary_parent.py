"""`--vocabulary_from DIR`: vocabularies that grow from an earlier conversion's (both converters).

Every value DIR's vocabulary holds keeps its id; the new data's values that pass `--min_count`
and that DIR lacks are appended after them in the usual order (count descending, ties by token),
and a `--max_vocab_size` cap limits only what is appended; values the new data lacks keep their
rows (`unseen` in summary.json). The fields must be DIR's: the same names in the same order, each
of the same type and, when multi-valued, with the same separator and max_len; anything else is
refused with one line (an id would mean another value, or a model another input).
"""

import dataclasses
import os
from typing import Dict, List, Optional, Sequence, Set, Tuple

from mezoo.data.feature_spec import SPEC_NAME, FeatureSpec, SpecError
from mezoo.data.multi_valued import is_multi_valued
from mezoo.data.raw.layout import Layout
from mezoo.data.vocabulary_lineage import generation, vocabularies_digest
from tfrecord_tools.convert.errors import ConversionError

FLAG = "--vocabulary_from"
# what a field's ids depend on: a change in any of these gives the parent's ids other meanings
TYPE_KEYS = ("kind", "source", "transform")
MULTI_VALUED_KEYS = ("separator", "max_len")


@dataclasses.dataclass(frozen=True)
class Parent:
    """The earlier conversion a conversion grows from: its vocabularies and what the spec records."""

    path: str  # absolute (or remote, as given)
    generation: int
    digest: str  # `vocabularies_digest(path)`
    vocabularies: Dict[str, Tuple[bytes, ...]]  # field name -> its tokens in id order

    def lineage(self) -> Dict:
        return {"path": self.path, "vocabularies_sha256": self.digest}


def load_parent(directory: Optional[str], layout: Layout, output: str) -> Optional[Parent]:
    """DIR's vocabularies, once DIR is checked: a conversion (not the output), consistent with its
    spec, with the fields this conversion writes. None without `--vocabulary_from`."""
    if not directory:
        return None
    where = f"{FLAG} {directory}"
    path = directory.rstrip("/") if "://" in directory else os.path.abspath(directory)
    if "://" not in path and os.path.realpath(path) == os.path.realpath(output):
        raise ConversionError(
            f"{where} is also the --output: write the new generation to another directory "
            "(the parent must stay as it is for the runs trained on it)"
        )
    if "://" not in path and not os.path.isfile(os.path.join(path, SPEC_NAME)):
        raise ConversionError(
            f"{where}: no {SPEC_NAME} in {path}: not a conversion; give an earlier conversion's output directory"
        )
    try:
        spec = FeatureSpec.load(path)
        spec.check_vocabulary_sizes()
    except SpecError as error:
        raise ConversionError(f"{where}: {error}") from None
    for field in spec.fields:
        if "vocabulary" not in field:
            raise ConversionError(f"{where}: field {field['name']!r} has no vocabulary file to grow from")
    check_same_fields(spec, layout, where)
    vocabularies = {f["name"]: tuple(spec.vocabulary(f["name"])) for f in spec.fields}
    return Parent(path, generation(spec.to_dict()) + 1, vocabularies_digest(path), vocabularies)


def check_same_fields(spec: FeatureSpec, layout: Layout, where: str) -> None:
    """Refuses, naming the field, a field the parent lacks or has and this conversion lacks, one
    whose type changed (numeric, string, integer, single- or multi-valued), a multi-valued field
    with another separator or max_len, and fields in another order."""
    old = {f["name"]: f for f in spec.fields}
    new = {f["name"]: f for f in layout.fields}
    old_numeric = set(spec.numeric_names)
    new_numeric = {n["name"] for n in layout.numeric}
    fresh = "convert afresh without " + FLAG
    for name in old:
        if name in new_numeric:
            raise ConversionError(f"{where}: field {name!r} was categorical there and is numeric now; {fresh}")
        if name not in new:
            raise ConversionError(f"{where}: field {name!r} of the parent is not in this conversion; {fresh}")
    for name in new:
        if name in old_numeric:
            raise ConversionError(f"{where}: field {name!r} was numeric there and is categorical now; {fresh}")
        if name not in old:
            raise ConversionError(f"{where}: field {name!r} is new (the parent has no such field); {fresh}")
    for name in sorted(old_numeric ^ new_numeric):
        state = "numeric there and is not in this conversion" if name in old_numeric else "a new numeric column"
        raise ConversionError(f"{where}: field {name!r} was {state}; {fresh}")
    for name, field in new.items():
        before = old[name]
        for key in TYPE_KEYS:
            if before.get(key) != field.get(key):
                changed = f"{describe(before)} there, {describe(field)} now"
                raise ConversionError(f"{where}: field {name!r} changed its type ({changed}); {fresh}")
        if is_multi_valued(field):
            for key in MULTI_VALUED_KEYS:
                if str(before.get(key)) != str(field.get(key)):
                    raise ConversionError(
                        f"{where}: field {name!r} changed its {key} from {before.get(key)!r} to {field.get(key)!r} "
                        f"(the parent's ids would hold other values); keep {before.get(key)!r} or {fresh}"
                    )
    if list(old) != list(new):
        raise ConversionError(
            f"{where}: the fields are in another order than the parent's ({', '.join(old)} there, "
            f"{', '.join(new)} now): reorder the columns or {fresh}"
        )


def describe(field: Dict) -> str:
    kind = "multi-valued" if is_multi_valued(field) else "single-valued"
    source = "integer (log_square_bucket)" if field.get("source") == "integer" else "string"
    return f"{kind} {source}"


def parent_keys(tokens: Sequence[bytes], is_integer: bool):
    """The parent's tokens as the counters' keys: int64 buckets for an integer field, else bytes."""
    if is_integer:
        from mezoo.data.transform import integer_tokens_to_keys

        return integer_tokens_to_keys(tokens)
    return list(tokens)


def present_tokens(keys, is_integer: bool) -> Set[bytes]:
    """Counted keys (kept ones and the parent's) as tokens."""
    if is_integer:
        from mezoo.data.transform import integer_token

        return {integer_token(k) for k in keys}
    return {bytes(k) for k in keys}


def grow(parent: Sequence[bytes], new: Sequence[bytes], max_size: Optional[int]) -> Tuple[List[bytes], int]:
    """The parent's tokens, then `new`'s tokens it lacks (in `new`'s order), as many as `max_size`
    (vocab_size, the OOV id included) leaves room for; returns (tokens, how many were appended)."""
    known = set(parent)
    appended = [t for t in new if t not in known]
    if max_size is not None:
        appended = appended[: max(max_size - 1 - len(parent), 0)]
    return list(parent) + appended, len(appended)
