"""The training revision: a number that changes when a change to mezoo alters what a recipe trains.

`run.json` records it (beside the commit), so that a study can tell which of its runs were
trained by code that computes the same thing as today's and which predate a change that alters
training (numerics, defaults, an optimiser's or a model's computation). Bump it in the commit
that makes such a change, and say what changed below. Changes that leave every trained number
as it was (refactoring, docs, other commands) leave it alone, and so do changes of which random
draw a seed selects (the order of a seeded epoch's batches): runs before and after them are draws
of one distribution, as runs of two seeds are, and a study may pool them.

- 1: the revision is recorded (runs before it record none).
- 2: DCNv2's ME-SI in the stacked form shares the first MLP block with the cross net (the
  paper's `MultiESingleIDCNv2`); before, every set kept its own first block.

Not a revision: a seeded epoch over TFRecords now gives the same batches each time its dataset is
iterated (before, a second iteration, such as Keras' model build on JAX, reshuffled), so a seed
selects another batch order than before. A run interrupted mid-epoch by the older code and resumed
by this one trains the rest of that epoch in the new order.
"""

TRAINING_REVISION = 2
