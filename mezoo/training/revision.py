"""The training revision: a number that changes when a change to mezoo alters what a recipe trains.

`run.json` records it (beside the commit), so that a study can tell which of its runs were
trained by code that computes the same thing as today's and which predate a change that alters
training (numerics, defaults, an optimiser's or a model's computation). Bump it in the commit
that makes such a change, and say what changed below. Changes that leave every trained number
as it was (refactoring, docs, other commands) leave it alone.

- 1: the revision is recorded (runs before it record none).
- 2: DCNv2's ME-SI in the stacked form shares the first MLP block with the cross net (the
  paper's `MultiESingleIDCNv2`); before, every set kept its own first block.
"""

TRAINING_REVISION = 2
