"""A finished conversion's feature spec (docs/formats.md) and summary.json, and the summary as printed."""

import dataclasses
import os
from typing import Dict, List, Optional, Set, Tuple

from mezoo.data.multi_valued import is_multi_valued
from mezoo.data.raw.layout import Layout
from mezoo.data.raw.reader import FileInfo
from mezoo.data.raw.rules import REASONS
from mezoo.data.vocabulary_lineage import FRESH_GENERATION
from tfrecord_tools.convert.options import Options
from tfrecord_tools.convert.vocabularies import FieldVocabulary, spec_fields
from tfrecord_tools.convert.vocabulary_parent import Parent


@dataclasses.dataclass(frozen=True)
class Conversion:
    """Everything a conversion found, once its shards are written: what its spec and summary say."""

    files: List[FileInfo]
    layout: Layout
    opts: Options
    vocabularies: List[FieldVocabulary]
    shards: Dict[str, int]  # shards per split that got rows, in split order
    written: Dict[str, int]  # rows per split
    positives: Dict[str, int]  # positive labels per split
    rejected: Dict[str, int]  # rejected lines per reason
    memory: List[Dict]  # the embedding memory table (`memory.memory_table`)
    vocab_splits: Set[str]  # the splits the vocabularies were counted on
    truncation: Dict[str, Dict[str, int]] = dataclasses.field(default_factory=dict)  # per multi-valued field
    parent: Optional[Parent] = None  # --vocabulary_from: the conversion the vocabularies grew from


def spec_and_summary(done: Conversion) -> Tuple[Dict, Dict]:
    """The feature spec and summary.json of a finished conversion (its files carry their statistics)."""
    fields = spec_fields(done.layout.fields, done.vocabularies)
    return conversion_spec(done, fields), conversion_summary(done, fields)


def conversion_spec(done: Conversion, fields: List[Dict]) -> Dict:
    """feature_spec.json's content (docs/formats.md)."""
    files, layout, opts, written = done.files, done.layout, done.opts, done.written
    given_splits = any(f.split for f in files)
    suffix = ".tfrecord.gz" if opts.compression == "GZIP" else ".tfrecord"
    return {
        "format_version": 2 if any(is_multi_valued(f) for f in fields) else 1,
        "dataset": opts.dataset,
        "generation": done.parent.generation if done.parent else FRESH_GENERATION,
        "parent": done.parent.lineage() if done.parent else None,
        "label": layout.label_name,
        "fields": fields,
        "numeric": [{"name": n["name"]} for n in layout.numeric],
        "splits": {
            n: {
                "files": f"{n}-*{suffix}",
                "rows": written[n],
                "shards": done.shards[n],
                "compression": opts.compression if opts.compression != "NONE" else "",
                "positive_rate": round(done.positives[n] / max(written[n], 1), 6),
            }
            for n in done.shards
        },
        "preprocessing": {
            "min_count": opts.min_count,
            "split": "given" if given_splits else [float(r) for r in opts.split],
            "seed": opts.seed,
            "vocabulary_splits": sorted(done.vocab_splits) if given_splits else "all",
            "max_vocab_size": opts.max_vocab_size,
            "oov_id": 0,
            "integer_transform": "log_square_bucket: missing -> '', v > 2 -> floor(ln(v)^2), else v - 2",
        },
        "source": [
            {
                "path": os.path.basename(f.path),
                "bytes": f.bytes,
                "sha256": f.sha256,
                **({"split": f.split} if f.split else {}),
            }
            for f in files
        ],
    }


def conversion_summary(done: Conversion, fields: List[Dict]) -> Dict:
    """summary.json's content: every row read counted as written or rejected, per split, reason and input."""
    files, written, rejected = done.files, done.written, done.rejected
    rows_read, n_written, n_rejected = sum(f.lines for f in files), sum(written.values()), sum(rejected.values())
    return {
        "dataset": done.opts.dataset,
        "rows_read": rows_read,
        "rows_written": n_written,
        "rows_rejected": n_rejected,
        "check": f"rows_read {rows_read} == rows_written {n_written} + rows_rejected {n_rejected}",
        "written": written,
        "rejected": in_reason_order(rejected),
        "positive_rate": {n: round(done.positives[n] / max(written[n], 1), 6) for n in done.shards},
        "vocab_sizes": {f["name"]: f["vocab_size"] for f in fields},
        "distinct_values": {v.name: v.distinct_values for v in done.vocabularies},
        "vocab_size_total": sum(v.vocab_size for v in done.vocabularies),
        **(growth(done) if done.parent else {}),
        **({"multi_valued": done.truncation} if any(is_multi_valued(f) for f in fields) else {}),
        "memory": done.memory,
        # a last line without newline may have been cut: what this run did with such lines
        "unterminated_last_line": "accepted" if done.opts.accept_unterminated_last_line else "rejected",
        "inputs": [
            {
                "path": f.path,
                "split": f.split,
                "rows_read": f.lines,
                "rows_rejected": sum(f.rejected.values()),
                "rejected": in_reason_order(f.rejected),
                "empty": f.empty,
                "final_newline": f.final_newline,
                "crlf": f.crlf,
                "utf8_bom": f.bom,
                "compression": f.compression,
            }
            for f in files
        ],
    }


def growth(done: Conversion) -> Dict:
    """With --vocabulary_from: the parent, and per field the values appended and the parent's values unseen."""
    parent = done.parent
    assert parent is not None
    return {
        "vocabulary_from": {"path": parent.path, "generation": parent.generation},
        "appended": {v.name: v.appended for v in done.vocabularies},
        "unseen": {v.name: v.unseen for v in done.vocabularies},
    }


def in_reason_order(counts: Dict[str, int]) -> Dict[str, int]:
    """Reject counts in `REASONS` order, zeros left out: the order lines were met in (local converter)
    or counts were combined in (Beam) does not show in summary.json."""
    return {reason: counts[reason] for reason in REASONS if counts.get(reason)}


def format_summary(s: Dict) -> str:
    lines = [
        f"{s['dataset']}: read {s['rows_read']:,} rows, wrote {s['rows_written']:,}, rejected "
        f"{s['rows_rejected']:,}  [{s['check']}: OK]"
    ]
    for name, n in s["written"].items():
        lines.append(f"  {name:<6} {n:>12,} rows  positive rate {s['positive_rate'][name]:.4f}")
    if s["rejected"]:
        lines.append("  rejected: " + ", ".join(f"{r} {n:,}" for r, n in s["rejected"].items()))
    for f in s["inputs"]:
        notes = [
            k
            for k, v in (
                ("empty", f["empty"]),
                ("no final newline", not f["final_newline"]),
                ("CRLF", f["crlf"]),
                ("UTF-8 BOM", f["utf8_bom"]),
            )
            if v
        ]
        lines.append(
            f"  input {f['path']}{' [' + f['split'] + ']' if f['split'] else ''}: {f['rows_read']:,} rows, "
            f"{f['rows_rejected']:,} rejected" + (f" ({', '.join(notes)})" if notes else "")
        )
        if not f["final_newline"] and not f["empty"]:
            choice = s.get("unterminated_last_line", "rejected")
            lines.append(
                f"    its last line has no newline and was {choice}"
                + (
                    " as truncated_last_line (pass --accept_unterminated_last_line if the file is complete)"
                    if choice == "rejected"
                    else " (--accept_unterminated_last_line)"
                )
            )
    lines.append(
        f"  vocabulary sizes (incl. OOV id 0), total {s['vocab_size_total']:,}: "
        + " ".join(f"{k}={v}" for k, v in s["vocab_sizes"].items())
    )
    if "unseen" in s:
        lines.append(
            f"  grown from {s['vocabulary_from']['path']} (generation {s['vocabulary_from']['generation']}): "
            f"appended {sum(s['appended'].values()):,} values, unseen {sum(s['unseen'].values()):,} "
            "(the parent's values absent here keep their ids; per field in summary.json)"
        )
    if "timing" in s:
        t = s["timing"]
        lines.append(
            f"  time {t['total_s']} s ({t['rows_per_s']:,} rows/s): validate+count {t['pass1_validate_count_s']} s, "
            f"transform {t['pass2_transform_s']} s, write {t['write_shards_s']} s"
        )
    return "\n".join(lines)
