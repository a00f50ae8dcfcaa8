"""Information abundance (IA) of embedding tables, a tracker that records it and a Keras callback that runs it.

For an embedding matrix `E` with `D` rows and `K` columns and singular values `s_1 >= ... >= s_n`
(`n = min(D, K)`), the information abundance is

    IA(E) = sum_k s_k / max_k s_k,        1 <= IA <= min(D, K).

A random matrix with `D >> K` has IA close to `K`; a collapsed (near low-rank) table has IA close
to 1. mezoo reports it per field, uncentred, over all of the field's vocabulary rows:

- for every embedding set `m`: `IA(E_i^(m))`, a `D_i x d` matrix;
- for the field as a whole: the IA of the concatenation `[E_i^(1) .. E_i^(M)]` (`D_i x M*d`), the
  same shape as the single-embedding table of width `M*d` it is compared against;
- beside IA: `ia_random`, the mean IA of standard Gaussian matrices of the same shape
  (`random_abundance`), and `ia_vs_random = IA / ia_random`, the headline measure of collapse:
  about 1 for an untrained (random) table, lower the more it has collapsed, and comparable
  across widths. `ia_normalised = IA / min(D, K)` and the effective rank `erank = exp(H(p))`
  with `p = s / sum(s)` are reported too; `ia_normalised` moves with the aspect ratio `D / K`
  even for random matrices (a 80-row random table has 0.80 at K = 10 and 0.47 at K = 100), so
  it does not compare tables of different widths fairly.

Rows a training run never looked up (each field's OOV row on data where every value is in the
vocabulary, say) keep their initial values, or decay to zero under an L2 penalty, whatever the
model learns: `embedding_abundance(..., row_counts=...)` leaves them out, so that IA describes
the rows training shaped. The trainer passes the training split's id counts.

Singular values come from the exact SVD for small tables and from the eigenvalues of the
`K x K` Gram matrix `E^T E`, accumulated in float64 over row chunks, for tall ones (a
1,000,000 x 100 float32 table takes well under a second on two CPU cores). Every row is used:
there is no row sampling.

Conventions for degenerate input: an all-zero matrix has no largest singular value to divide
by; mezoo defines its IA, normalised IA and effective rank as 0.0 (it carries no information).
Input that is not 2-D, has no rows or no columns, or contains NaN or infinity raises
`ValueError`.

Only numpy and Keras are needed; TensorFlow is imported only when abundance is written as
TensorBoard summaries.

Example:
>>> import numpy as np
>>> information_abundance(np.eye(4))
4.0
>>> information_abundance(np.outer(np.arange(1.0, 6.0), [1.0, 2.0, 3.0]))  # rank 1
1.0
"""

from mezoo.abundance.measures import (
    METHODS,
    abundance_stats,
    effective_rank,
    information_abundance,
    normalized_information_abundance,
    random_abundance,
    singular_values,
)
from mezoo.abundance.tables import CSV_COLUMNS, embedding_abundance, live_row_masks, summarize
from mezoo.abundance.tracker import AbundanceCallback, AbundanceTracker, MetricCallback

__all__ = [
    "METHODS",
    "singular_values",
    "information_abundance",
    "normalized_information_abundance",
    "effective_rank",
    "abundance_stats",
    "random_abundance",
    "embedding_abundance",
    "live_row_masks",
    "summarize",
    "AbundanceTracker",
    "AbundanceCallback",
    "MetricCallback",
    "CSV_COLUMNS",
]
