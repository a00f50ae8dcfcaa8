"""Training: the trainer (`trainer.train`), its data sources, placements, stopping rules, and the training modes
(`compile_model`); the optimizers it compiles with are `mezoo.optimizers`."""

from mezoo.training.training_mode import MODES, compile_model

__all__ = ["MODES", "compile_model"]
