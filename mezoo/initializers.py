"""PyTorch's default `nn.Linear` initialisation, which the paper's official code uses."""

import math

import keras


@keras.saving.register_keras_serializable(package="mezoo")
class FanInUniform(keras.initializers.RandomUniform):
    """U(-1/sqrt(fan_in), +1/sqrt(fan_in)) for a weight whose fan-in is given explicitly.

    PyTorch draws both the kernel and the bias of a `Linear(fan_in, n)` from this range.
    Keras can infer a kernel's fan-in from its shape, but not a bias's, so the fan-in is an
    argument: pass the width of the layer's input.

    Args:
        fan_in: number of inputs of the layer the weight belongs to.
        seed: optional integer seed.

    Example:
    >>> bias = FanInUniform(fan_in=400)((16,))  # every value in [-0.05, 0.05]
    """

    def __init__(self, fan_in: int, seed=None):
        self.fan_in = int(fan_in)
        bound = 1.0 / math.sqrt(self.fan_in)
        super().__init__(minval=-bound, maxval=bound, seed=seed)

    def get_config(self):
        return {"fan_in": self.fan_in, "seed": super().get_config()["seed"]}
