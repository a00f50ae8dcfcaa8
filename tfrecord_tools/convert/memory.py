"""The embedding tables' memory per scale of a conversion's vocabularies, and the `--memory_limit` check."""

from typing import Dict, List, Sequence

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
