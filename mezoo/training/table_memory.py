"""Before a model is built: do its embedding tables (with the optimizer's state) fit in this machine's memory?

A spec whose `vocab_size` is far larger than its data needs (a typo, a hand-made spec) would
otherwise make the trainer allocate tables and Adam slots until the process is killed, naming
nothing. The estimate is a lower bound: float32 tables of `sum(vocab_size) x sets x width`,
Adam's two moment slots, and in exact mode the tables' dense gradient; activations, the other
weights and the input pipeline come on top.

Example:
>>> table_bytes([1000, 50], num_sets=4, embedding_dim=10, mode="exact")
672000
"""

from typing import Optional, Sequence

from mezoo.errors import BadInput

FLOAT32 = 4
# copies of the tables a training step holds: weights, Adam's m and v, and exact mode's dense gradient
COPIES = {"exact": 4, "fast": 3}


class TableMemoryError(BadInput):
    """Embedding tables that cannot fit in the machine's memory."""


def table_bytes(vocab_sizes: Sequence[int], num_sets: int, embedding_dim: int, mode: str) -> int:
    """The bytes the embedding tables take in training, optimizer state included (a lower bound)."""
    return sum(int(v) for v in vocab_sizes) * int(num_sets) * int(embedding_dim) * FLOAT32 * COPIES.get(mode, 4)


def available_memory(meminfo: str = "/proc/meminfo") -> Optional[int]:
    """The memory the kernel says a new process can use without swapping (bytes); None where unknown."""
    try:
        with open(meminfo) as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024:
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.1f} TiB"


def check_table_memory(
    fields: Sequence[tuple], num_sets: int, embedding_dim: int, mode: str, available: Optional[int]
) -> None:
    """Refuses (`TableMemoryError`) tables that need more than `available` bytes, naming the largest fields.

    `fields`: `(name, vocab_size, ...)` as models take them. `available`: None skips the check
    (an unknown machine, or tables that live on accelerators).
    """
    needed = table_bytes([f[1] for f in fields], num_sets, embedding_dim, mode)
    if available is None or needed <= available:
        return
    largest = sorted(fields, key=lambda f: -int(f[1]))[:3]
    names = ", ".join(f"{f[0]} ({int(f[1]):,} ids)" for f in largest)
    raise TableMemoryError(
        f"the embedding tables need at least {human(needed)} in training ({num_sets} set(s) of width "
        f"{embedding_dim}, Adam's state{', the dense gradient' if mode == 'exact' else ''}), more than the "
        f"{human(available)} this machine has available; the largest fields: {names}. Check the feature "
        "spec's vocab_size values, convert with a higher --min_count or a --max_vocab_size, or train with "
        "fewer sets or a narrower width"
    )
