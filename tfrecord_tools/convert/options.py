"""A conversion's options (what the converters' flags set) and the size strings they take."""

import dataclasses
from typing import Callable, Dict, Optional, Sequence

from mezoo.errors import UsageError

Log = Callable[..., None]  # print-like: where a conversion says what it does


@dataclasses.dataclass
class Options:
    output: str
    dataset: str
    min_count: int = 1
    split: Sequence[float] = (0.8, 0.1, 0.1)
    seed: int = 0
    max_vocab_size: Dict[str, int] = dataclasses.field(default_factory=dict)  # field (or "*") -> cap
    rows_per_shard: int = 500_000
    compression: str = "GZIP"
    compression_level: int = 1  # zlib level: 1 is ~3x faster to write than 6, shards ~6% larger
    chunk_bytes: int = 8 << 20
    embedding_dim: int = 10
    scales: Sequence[int] = (1, 2, 3, 4, 10)
    memory_limit: Optional[float] = None  # bytes, checked at the largest scale
    vocabulary_splits: Optional[Sequence[str]] = None  # given splits: which count (default train)
    max_rejects_logged: int = -1  # lines written to rejects.tsv (-1: all)
    parallel: int = 2
    verbose: bool = True
    accept_unterminated_last_line: bool = False  # else a last line without newline is rejected
    allow_duplicate_inputs: bool = False  # else byte-identical inputs (same sha256) are refused
    vocabulary_from: Optional[str] = None  # an earlier conversion whose vocabularies this one grows


# ------------------------------------------------------------------------------- helpers
def parse_size(text: Optional[str], flag: str = "size") -> Optional[float]:
    """'16GB', '512M', '1e9' -> bytes; `flag` names the setting in the error when `text` is none of these."""
    if text in (None, "", "0"):
        return None
    size = str(text).strip().upper().rstrip("B")
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    unit = units.get(size[-1:], 1)
    try:
        return float(size[:-1] if size[-1:] in units else size) * unit
    except ValueError:
        raise UsageError(
            f"{flag} {text}: not a size; give bytes or a number with K, M, G or T (e.g. 16GB, 500M)"
        ) from None


def logger(verbose: bool) -> Log:
    """`print` (flushed) when verbose, else a function that says nothing."""
    if verbose:
        return lambda *a: print(*a, flush=True)
    return lambda *a: None
