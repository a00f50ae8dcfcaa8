"""Summary and validation of a converted directory.

    python -m tfrecord_tools.inspect DIR [--max_rows N]

Prints the feature spec's summary (splits, rows, positive rates, vocabulary sizes, and the
converter's summary.json when present), then reads every shard: counts records, parses them
in batches and checks each row against the spec (the `ids` length, every id inside
0..vocab_size-1, labels 0/1, `dense` length; a multi-valued field's columns hold id + 1 with its
values first and only unused 0s after them). A corrupted or truncated shard is named with
the error. Exit status 0 when everything matches the spec, 1 otherwise.
"""

import json
import os
import re
import sys
from typing import Any, List, Optional, Sequence

from mezoo.data.feature_spec import SPEC_NAME
from mezoo.errors import MissingInput


def define_flags(values: Any) -> None:
    from absl import flags

    flags.DEFINE_integer(
        "max_rows", 0, "Check at most this many rows per shard (0: all; row counts then need all).", flag_values=values
    )
    flags.DEFINE_integer(
        "batch_size", 8192, "Records parsed per batch while checking.", lower_bound=1, flag_values=values
    )


def check_shard(path, spec, compression, batch_size=8192, max_rows=0):
    """-> dict(rows, positives, errors: [str]); reading errors name the shard."""
    import numpy as np
    import tensorflow as tf

    from mezoo.data.examples import feature_description
    from mezoo.data.multi_valued import stored_shift

    desc = feature_description(spec.id_width, len(spec.numeric))
    lengths = spec.field_lengths
    column_field = np.repeat(np.arange(spec.num_fields), lengths)
    shift = np.asarray(stored_shift(spec.fields), np.int64)
    # stored values: 0..vocab_size-1, a multi-valued field's 0..vocab_size (id + 1, 0 unused)
    sizes = np.asarray(spec.vocab_sizes, np.int64)[column_field] + shift
    starts = np.concatenate([[0], np.cumsum(lengths)])
    multi = [f for f in range(spec.num_fields) if shift[starts[f]]]
    rows, positives, errors = 0, 0, []
    ds = tf.data.TFRecordDataset(path, compression_type=compression or "").batch(batch_size)
    it = iter(ds)
    while True:
        try:
            batch = next(it)
        except StopIteration:
            break
        except (tf.errors.DataLossError, tf.errors.OutOfRangeError, tf.errors.InvalidArgumentError) as e:
            message = re.sub(r"\{\{.*?\}\}\s*", "", e.message.splitlines()[0]).split(" [Op:")[0]
            # The failing batch holds good records before the damage too: count them one by one,
            # as the trainer reads them (mezoo.data.shard_errors does the same).
            good = (
                tf.data.TFRecordDataset(path, compression_type=compression or "")
                .apply(tf.data.experimental.ignore_errors())
                .reduce(0, lambda n, _: n + 1)
            )
            errors.append(f"corrupted or truncated shard {path} (after {int(good)} good records): {message}")
            break
        try:
            parsed = tf.io.parse_example(batch, desc)
        except tf.errors.InvalidArgumentError as e:
            errors.append(
                f"shard {path}: records {rows}..{rows + len(batch)} do not match the spec: "
                f"{e.message.splitlines()[0][:300]}"
            )
            break
        ids = parsed["ids"].numpy()
        bad = (ids < 0) | (ids >= sizes[None, :])
        if bad.any():
            r, c = np.argwhere(bad)[0]
            f = column_field[c]
            errors.append(
                f"shard {path}: record {rows + r} field {spec.field_names[f]} "
                + ("stored value" if shift[c] else "id")
                + f" {ids[r, c]} outside 0..{sizes[c] - 1}"
                + f" ({int(bad.sum())} such ids in this batch)"
            )
        for f in multi:  # values first, then unused 0s; at least one value (an empty cell is the missing token)
            block = ids[:, starts[f] : starts[f + 1]]
            used = block > 0
            gaps = ~used[:, 0] | (used[:, 1:] & ~used[:, :-1]).any(axis=1)
            if gaps.any():
                r = int(np.argmax(gaps))
                errors.append(
                    f"shard {path}: record {rows + r} multi-valued field {spec.field_names[f]} holds "
                    f"{block[r].tolist()}: values must come first, then only 0s, and at least one value"
                )
        labels = parsed["label"].numpy()
        if not np.isin(labels, (0.0, 1.0)).all():
            errors.append(f"shard {path}: labels other than 0/1 near record {rows}")
        rows += len(labels)
        positives += int(labels.sum())
        if max_rows and rows >= max_rows:
            break
    return {"rows": rows, "positives": positives, "errors": errors}


def inspect_directory(directory, batch_size=8192, max_rows=0, out=print):
    from mezoo.data.feature_spec import FeatureSpec

    local = "://" not in str(directory)
    if local and not os.path.exists(os.path.join(directory, SPEC_NAME)) and not str(directory).endswith(".json"):
        leftovers = [n for n in ("summary.json", "rejects.tsv", "vocab") if os.path.exists(os.path.join(directory, n))]
        raise MissingInput(
            f"{directory} holds no feature_spec.json: not a finished conversion"
            + (f" ({', '.join(leftovers)} there are from one that did not finish; convert again)" if leftovers else "")
        )
    spec = FeatureSpec.load(directory)
    out(
        f"{spec.resolve('feature_spec.json')}: dataset {spec.dataset!r}, {spec.num_fields} fields, "
        f"{len(spec.numeric)} numeric, sum of vocabulary sizes {sum(spec.vocab_sizes):,}"
    )
    out("  vocab sizes: " + " ".join(f"{n}={v}" for n, v in zip(spec.field_names, spec.vocab_sizes)))
    summary_path = spec.resolve("summary.json")
    if os.path.exists(summary_path):
        with open(summary_path) as f:
            s = json.load(f)
        out(
            f"  converter: read {s['rows_read']:,}, wrote {s['rows_written']:,}, rejected {s['rows_rejected']:,}"
            + (f" ({', '.join(f'{k} {v:,}' for k, v in s['rejected'].items())})" if s.get("rejected") else "")
        )
    problems = []
    for split, entry in spec.splits.items():
        try:
            files = spec.files(split)
        except FileNotFoundError as e:
            problems.append(str(e))
            continue
        expected_shards = entry.get("shards")
        if expected_shards is not None and len(files) != expected_shards:
            problems.append(f"split {split}: {len(files)} shard files, spec says {expected_shards}")
        rows = positives = 0
        for path in files:
            r = check_shard(path, spec, spec.compression(split), batch_size, max_rows)
            rows += r["rows"]
            positives += r["positives"]
            problems += r["errors"]
        rate = positives / rows if rows else float("nan")
        line = f"  {split:<6} {len(files):>4} shards {rows:>12,} rows  positive rate {rate:.4f}"
        if not max_rows and entry.get("rows") is not None and rows != entry["rows"]:
            problems.append(f"split {split}: {rows} rows in the shards, spec says {entry['rows']}")
            line += f"  (spec: {entry['rows']:,})"
        out(line)
    if problems:
        out(f"INVALID: {len(problems)} problem(s)")
        for p in problems:
            out("  " + p)
    else:
        out("OK: every shard matches the spec")
    return problems


def run(values: Any, args: List[str]) -> None:
    from mezoo.errors import UsageError

    if len(args) != 1:
        raise UsageError("usage: python -m tfrecord_tools.inspect DIR")
    try:
        problems = inspect_directory(args[0], values.batch_size, values.max_rows)
    except (FileNotFoundError, ValueError, KeyError) as e:
        raise UsageError(str(e)) from None
    sys.exit(1 if problems else 0)


def main(argv: Optional[Sequence[str]] = None) -> None:
    from mezoo.command import run_command

    run_command(__doc__, define_flags, run, argv, program="python -m tfrecord_tools.inspect", positional="DIR")


if __name__ == "__main__":
    main()
