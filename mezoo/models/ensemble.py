"""An ensemble of trained zoo models: their click probabilities averaged, as one Keras model.

The baseline a multi-embedding model is measured against (`mezoo.evidence.ensembles`): k
single-embedding models, each with its own table, interaction module and head, trained alone
with its own seed, then averaged. At scale k its embedding parameters equal ME's (k tables of
width d); its other parameters are k full towers, more than ME's shared head.

Example:
>>> import keras, numpy as np
>>> from mezoo.models import DNN
>>> keras.utils.set_random_seed(0)
>>> members = [DNN([("user", 30), ("item", 20)], hidden_units=[8]) for _ in range(3)]
>>> both = ensemble(members)
>>> ids = {"ids": np.array([[1, 2], [3, 4]])}
>>> bool(np.allclose(both.predict(ids, verbose=0), np.mean([m.predict(ids, verbose=0) for m in members], axis=0)))
True
"""

from typing import Sequence

import keras
from keras import ops


def ensemble(members: Sequence[keras.Model], name: str = "ensemble") -> keras.Model:
    """One model whose output is the mean of `members`' outputs on the same inputs.

    Args:
        members: two or more built models taking the same input dict (`{"ids": ...}`, plus
            `"dense"` with numeric fields) and giving a probability each.
        name: the model's name.

    Returns:
        A functional `keras.Model`, saved and loaded as any (`keras.models.load_model` after
        `import mezoo`), its members inside it.
    """
    members = list(members)
    if len(members) < 2:
        raise ValueError(f"an ensemble needs two or more members, got {len(members)}")
    specs = [{k: (tuple(t.shape[1:]), t.dtype) for k, t in m.input.items()} for m in members]
    if any(spec != specs[0] for spec in specs[1:]):
        raise ValueError(f"the members take different inputs: {specs}")
    inputs = {k: keras.Input(shape=shape, dtype=dtype, name=k) for k, (shape, dtype) in specs[0].items()}
    outputs = ops.mean(ops.stack([member(inputs) for member in members], axis=0), axis=0)
    return keras.Model(inputs, outputs, name=name)
