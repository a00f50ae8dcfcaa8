"""The information abundance of a matrix: its singular values, IA, normalised IA, effective rank, a random baseline.

`IA(E) = sum_k s_k / max_k s_k` over the singular values of `E` (`mezoo.abundance` says more).
Singular values come from the exact SVD for small matrices and from the eigenvalues of the
`K x K` Gram matrix, accumulated in float64 over row chunks, for tall ones.

Example:
>>> import numpy as np
>>> information_abundance(np.eye(4)), effective_rank(np.eye(4))
(4.0, 4.0)
"""

import functools
import math
from typing import Dict, Optional, Union

import keras
import numpy as np

METHODS = ("auto", "svd", "gram")
# Rows converted to float64 at a time on the Gram path: 16,384 x 100 float64 is 13 MB, small
# enough to stay near the caches; larger chunks measured slower on a 2-core CPU.
_GRAM_CHUNK_ROWS = 16_384
# "auto" uses the Gram path once the long side exceeds this many times the short side: there
# the SVD's cost grows with D while the Gram path's K x K eigenproblem does not.
_GRAM_ASPECT = 4


def _as_matrix(matrix) -> np.ndarray:
    """Any 2-D array-like (numpy, list, backend tensor, Keras variable) as a numpy array."""
    if isinstance(matrix, np.ndarray):
        array = matrix
    elif isinstance(matrix, (list, tuple)):
        array = np.asarray(matrix, dtype=np.float64)
    else:
        array = keras.ops.convert_to_numpy(matrix)
    if array.ndim != 2:
        raise ValueError(f"Expected a 2-D matrix (rows x columns), got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"Expected a non-empty matrix, got shape {array.shape}")
    if np.iscomplexobj(array):
        raise ValueError("Expected a real matrix, got complex values")
    return array


def _gram(matrix: np.ndarray, chunk_rows: int = _GRAM_CHUNK_ROWS) -> np.ndarray:
    """`A^T A` in float64, converting at most `chunk_rows` rows of `A` to float64 at a time."""
    cols = matrix.shape[1]
    gram = np.zeros((cols, cols), dtype=np.float64)
    for start in range(0, matrix.shape[0], chunk_rows):
        chunk = matrix[start : start + chunk_rows].astype(np.float64)
        gram += chunk.T @ chunk
    return gram


def _singular_values(array: np.ndarray, method: str) -> np.ndarray:
    rows, cols = array.shape
    if method == "auto":
        method = "gram" if max(rows, cols) > _GRAM_ASPECT * min(rows, cols) else "svd"
    if method == "svd":
        values = array.astype(np.float64)
        if not np.all(np.isfinite(values)):
            raise ValueError("The matrix contains NaN or infinite values")
        return np.linalg.svd(values, compute_uv=False)
    if method != "gram":
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    # Singular values of A and A^T agree: use the smaller Gram matrix.
    gram = _gram(array if rows >= cols else array.T)
    if not np.all(np.isfinite(gram)):
        # NaN or inf anywhere in the matrix reaches the Gram matrix; this check is O(K^2).
        raise ValueError("The matrix contains NaN or infinite values")
    eigenvalues = np.linalg.eigvalsh(gram)
    # Rounding leaves zero eigenvalues of the positive semi-definite Gram matrix slightly
    # negative; they are zeros.
    values = np.sqrt(np.clip(eigenvalues, 0.0, None))
    return values[::-1].copy()


def singular_values(matrix, method: str = "auto") -> np.ndarray:
    """Singular values of a 2-D matrix in float64, in descending order (`min(D, K)` of them).

    Args:
        matrix: a `D x K` array-like (numpy array, nested list, backend tensor or Keras variable).
        method: `"svd"`: `np.linalg.svd` in float64. `"gram"`: square roots of the eigenvalues of
            the Gram matrix, accumulated in float64 over row chunks (of the smaller of `E^T E`
            and `E E^T`), so a `1,000,000 x 100` float32 table never needs a float64 copy; it
            squares the condition number, so singular values below about `1e-7 * s_max` are
            resolved only roughly: exact zeros come out as rounding noise of that size. IA, a
            sum dominated by the large values, agrees with the SVD to about 1e-6 relative;
            erank, which weighs the small values more, to about 1e-5. `"auto"` (default): `"gram"` when the
            long side is more than 4 times the short side, else `"svd"`.

    Returns:
        float64 array of the singular values, largest first.

    Raises:
        ValueError: for input that is not 2-D, empty, complex, or not finite, or an unknown method.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return _singular_values(_as_matrix(matrix), method)


def _ia(values: np.ndarray) -> float:
    largest = float(values[0]) if values.size else 0.0
    return float(np.sum(values) / largest) if largest > 0.0 else 0.0


def _erank(values: np.ndarray) -> float:
    total = float(np.sum(values))
    if total <= 0.0:
        return 0.0
    p = values[values > 0.0] / total
    return float(math.exp(-np.sum(p * np.log(p))))


def information_abundance(matrix, method: str = "auto") -> float:
    """`sum(s) / max(s)` over the singular values `s` of `matrix`; 0.0 for an all-zero matrix.

    Args:
        matrix: a `D x K` array-like.
        method: `"auto"`, `"svd"` or `"gram"`, as in `singular_values`.

    Returns:
        The information abundance, in `[1, min(D, K)]` (0.0 for an all-zero matrix).
    """
    return _ia(singular_values(matrix, method))


def normalized_information_abundance(matrix, method: str = "auto") -> float:
    """Information abundance divided by its upper bound `min(D, K)`: in `(0, 1]` (0.0 if all zero)."""
    return abundance_stats(matrix, method)["ia_normalised"]


def effective_rank(matrix, method: str = "auto") -> float:
    """Effective rank `exp(H(p))`, `p = s / sum(s)` (Roy and Vetterli, 2007); 0.0 if all zero.

    It lies in `[1, min(D, K)]` like IA but weighs every singular value by its share of the sum,
    where IA measures the sum against the largest one only.
    """
    return _erank(singular_values(matrix, method))


def abundance_stats(matrix, method: str = "auto") -> Dict[str, Union[int, float]]:
    """All abundance figures of one matrix, from one singular value computation.

    Args:
        matrix: a `D x K` array-like.
        method: `"auto"`, `"svd"` or `"gram"`, as in `singular_values`.

    Returns:
        `{"rows": D, "width": K, "ia": ..., "ia_normalised": ..., "erank": ...}`.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    array = _as_matrix(matrix)
    values = _singular_values(array, method)
    ia = _ia(values)
    return {
        "rows": int(array.shape[0]),
        "width": int(array.shape[1]),
        "ia": ia,
        "ia_normalised": ia / min(array.shape),
        "erank": _erank(values),
    }


@functools.lru_cache(maxsize=4096)
def random_abundance(rows: int, width: int, draws: Optional[int] = None, seed: int = 0) -> float:
    """Mean IA of standard Gaussian `rows x width` matrices: the same-shape random baseline.

    The singular values of an `n x k` Gaussian matrix (`n >= k`) are distributed as those of
    the `k x k` lower-triangular Bartlett factor of its Wishart matrix `G^T G` (diagonal
    `sqrt(chi2(n - i))`, standard normal below), so each draw costs an SVD of `k x k`
    whatever `n` is: a 4,000,000-row table's baseline takes as long as a 100-row one's.

    Args:
        rows: D (>= 1).
        width: K (>= 1).
        draws: matrices averaged; default 32, fewer for wide ones (IA varies less there).
        seed: seed of the draws (the result is a deterministic function of its arguments).

    Returns:
        The mean IA over the draws.

    Example:
    >>> round(random_abundance(1_000_000, 10), 1)  # tall: close to K
    10.0
    >>> random_abundance(10, 10) < 6  # square: far from it
    True
    """
    rows, width = int(rows), int(width)
    if rows < 1 or width < 1:
        raise ValueError(f"random_abundance needs rows >= 1 and width >= 1, got {rows} x {width}")
    n, k = max(rows, width), min(rows, width)
    if draws is None:
        draws = max(4, min(32, 4096 // k))
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(int(draws)):
        factor = np.tril(rng.standard_normal((k, k)), -1)
        factor[np.diag_indices(k)] = np.sqrt(rng.chisquare(n - np.arange(k)))
        values.append(_ia(np.linalg.svd(factor, compute_uv=False)))
    return float(np.mean(values))
