"""Where the real samples of ../shared/data are (read-only; never copied into the repo)."""

import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def shared_data(*parts):
    """Path under $MEZOO_SHARED_DATA (or ../shared/data beside the repo); skips when absent."""
    base = os.environ.get("MEZOO_SHARED_DATA") or os.path.join(ROOT, "..", "shared", "data")
    path = os.path.join(base, *parts)
    if not os.path.exists(path):
        pytest.skip(f"real sample {os.path.join(*parts)} not found under {base} (set MEZOO_SHARED_DATA)")
    return path
