"""Files rewritten by several processes or threads of one study, replaced whole."""

import os
import threading
from pathlib import Path


def atomic_write_text(path, text: str) -> None:
    """Writes `text` beside `path` under a name private to this process and thread, then renames
    it over `path`: concurrent writers never interleave and readers never see half a file.

    Example:
    >>> atomic_write_text(Path("study") / "scaling.md", "# Scaling study")  # doctest: +SKIP
    """
    path = Path(path)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
    with open(partial, "w") as handle:
        handle.write(text)
    os.replace(partial, path)
