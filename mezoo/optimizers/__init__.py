"""mezoo's optimizers: Keras' Adam fused into one kernel per variable, and its row-sparse form for fast mode.

Registered with Keras' serialization on import, so that a saved compiled model loads with them.
`mezoo.training.training_mode.compile_model` chooses between them.
"""

from mezoo.optimizers.fused_adam import FusedAdam
from mezoo.optimizers.row_sparse_adam import RowSparseAdam

__all__ = ["FusedAdam", "RowSparseAdam"]
