"""A function over items in worker threads, results in input order (TF and numpy release the GIL)."""

from typing import Any, Callable, Iterator, Tuple


def ordered_map(fn: Callable[[Any], Any], items: Iterator[Any], workers: int) -> Iterator[Tuple[Any, Any]]:
    """(item, fn(item)) in input order, fn running in `workers` threads, a few items ahead."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as pool:
        pending: Any = deque()
        try:
            for item in items:
                pending.append((item, pool.submit(fn, item)))
                if len(pending) > workers + 1:
                    head, future = pending.popleft()
                    yield head, future.result()
            while pending:
                head, future = pending.popleft()
                yield head, future.result()
        finally:
            for _, future in pending:
                future.cancel()
