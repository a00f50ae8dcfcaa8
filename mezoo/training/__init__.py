"""Training machinery that needs TensorFlow: the row-sparse optimiser and the training modes."""

from mezoo.training.fused_adam import FusedAdam
from mezoo.training.row_sparse_adam import RowSparseAdam
from mezoo.training.training_mode import MODES, compile_model

__all__ = ["MODES", "FusedAdam", "RowSparseAdam", "compile_model"]
