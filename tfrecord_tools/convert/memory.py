"""The `--memory_limit` checks: the embedding tables per scale of a conversion's vocabularies, and the
converter's own id rows (wide when a multi-valued field keeps many values)."""

from typing import Dict, List, Sequence

from mezoo.data.multi_valued import id_columns, is_multi_valued
from tfrecord_tools.convert.errors import ConversionError
from tfrecord_tools.convert.options import Options


def human(n: float) -> str:
    if abs(n) < 1024:
        return f"{int(n)} B"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if abs(n) < 1024:
            return f"{n:.1f} {unit}"
    return f"{n / 1024:.1f} TiB"


def memory_table(vocab_total: int, dim: int, scales: Sequence[int]) -> List[Dict]:
    """Embedding memory per scale: float32 tables (sum of vocabularies x dim x scale), and with
    Adam's two moment slots (3x): what training would hold."""
    return [
        {
            "scale": int(s),
            "embedding_dim": dim,
            "parameters": vocab_total * dim * int(s),
            "table_bytes": vocab_total * dim * int(s) * 4,
            "with_adam_bytes": vocab_total * dim * int(s) * 12,
        }
        for s in scales
    ]


def check_memory(fields: List[Dict], opts: Options, log):
    """Embedding memory per scale of the fields' vocab_size; stops (before anything is written)
    over --memory_limit. Returns (sum of vocab sizes, memory table)."""
    vocab_total = sum(f["vocab_size"] for f in fields)
    memory = memory_table(vocab_total, opts.embedding_dim, opts.scales)
    log(
        f"vocabulary: {len(fields)} fields, sum of vocabulary sizes {vocab_total:,} "
        f"(largest {max(f['vocab_size'] for f in fields):,}); embedding memory at d={opts.embedding_dim}:"
    )
    for m in memory:
        log(
            f"  scale {m['scale']:>3}: {m['parameters']:>15,} parameters, tables {human(m['table_bytes'])}, "
            f"with Adam slots {human(m['with_adam_bytes'])}"
        )
    if opts.memory_limit and memory and max(m["table_bytes"] for m in memory) > opts.memory_limit:
        worst = max(memory, key=lambda m: m["table_bytes"])
        raise ConversionError(
            f"stopping before writing anything: the embedding tables at scale {worst['scale']} need "
            f"{human(worst['table_bytes'])}, over --memory_limit {human(opts.memory_limit)}; raise --min_count, "
            f"set --max_vocab_size, lower --scales or raise --memory_limit"
        )
    return vocab_total, memory


# Bytes the converter holds per id of a row: the transform's int64 gather and its shifted copy
# (a multi-valued field's stored id + 1), then the spool's dtype; the shard writer's reordered
# copy and the serializer's int64 view.
ID_BYTES = 24


def check_id_memory(fields: List[Dict], chunk_rows: Sequence[int], split_rows: Dict[str, int], opts: Options) -> int:
    """The converter's id rows: `--parallel` chunks (transform) or shards (writer) at once, each row
    one id per column (a multi-valued field's `max_len` columns), `ID_BYTES` each. Stops over
    --memory_limit, naming the multi-valued fields, before the transform allocates them. Returns the bytes."""
    width = sum(id_columns(fields))
    parallel = max(1, opts.parallel)
    rps = max(1, opts.rows_per_shard)
    shard_rows = [rps] * sum(n // rps for n in split_rows.values()) + [n % rps for n in split_rows.values()]
    held = max(sum(sorted(chunk_rows)[-parallel:]), sum(sorted(shard_rows)[-parallel:]))
    need = held * width * ID_BYTES
    if opts.memory_limit and need > opts.memory_limit:
        multi = [f for f in fields if is_multi_valued(f)]
        named = "; ".join(f"multi-valued {f['name']!r}: max_len {int(f['max_len']):,}" for f in multi)
        lower = "the max_len of " + ", ".join(repr(f["name"]) for f in multi)
        raise ConversionError(
            f"stopping before writing anything: the converter holds {held:,} rows of {width:,} ids at once"
            + (f" ({named})" if named else "")
            + f", about {human(need)}, over --memory_limit {human(opts.memory_limit)}; lower "
            + (f"{lower} (most_values in a summary.json says how many values a row holds), " if multi else "")
            + "--chunk_mb, --rows_per_shard or --parallel, or raise --memory_limit"
        )
    return need
