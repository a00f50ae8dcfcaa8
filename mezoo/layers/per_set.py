"""Helpers shared by layers whose weights carry a leading `num_sets` axis.

Every interaction layer in mezoo runs either on one embedding set (`num_sets=None`: no set
axis anywhere) or on several at once (`num_sets=M`: inputs carry a set axis at position 1 and
weights a leading axis of size M). The batched form is one batched product (an einsum, or a
matmul on set-major operands), never a loop of layers.
"""

import zlib
from typing import Any, Callable, Optional, Sequence, Tuple

import keras
from keras import ops

from mezoo.layers.types import Shape, Tensor

# A Keras initializer, or any callable of (shape, dtype=None) -> tensor.
Initializer = Callable[..., Tensor]


def set_einsum(equation: str, num_sets: Optional[int]) -> str:
    """Drops the set letter `m` from an einsum equation when the layer has no set axis."""
    return equation if num_sets is not None else equation.replace("m", "")


def set_shape(shape: Sequence[int], num_sets: Optional[int]) -> Tuple[int, ...]:
    """A weight's shape: `shape`, with a leading `num_sets` axis when there are sets."""
    return tuple(shape) if num_sets is None else (num_sets, *shape)


def derive_initializer(initializer: Any, *key: Any) -> Initializer:
    """A new instance of `initializer` whose random stream is distinct for each `key`.

    A Keras 3 initializer returns the same values every time it is called, so one instance
    shared by several weights would make them equal. Unseeded, the new instance draws its own
    random seed; seeded, its seed is derived from the seed and `key`, so runs stay repeatable.
    """
    resolved: Initializer = keras.initializers.get(initializer)
    config = resolved.get_config() if isinstance(resolved, keras.initializers.Initializer) else {}
    if "seed" not in config:  # a plain callable, or an initializer that draws nothing at random
        return resolved
    seed = config["seed"]
    if seed is not None:
        seed = zlib.crc32(repr((seed, *key)).encode()) % (2**31 - 1)
    initializer_class: Any = type(resolved)  # a Keras initializer here
    derived: Initializer = initializer_class.from_config({**config, "seed": seed})
    return derived


def per_set_initializer(
    initializer: Any,
    num_sets: Optional[int],
    concat_axis: Optional[int] = None,
    key: str = "",
    draw_shape: Optional[Sequence[int]] = None,
) -> Initializer:
    """An initializer that fills each set's slice as if it were a separate weight.

    Keras computes fans over every axis but the last two, so Glorot on an (M, n, k) weight
    would scale by M*n and M*k. Each set is instead drawn on its own shape from its own
    derived initializer (`key` names the weight so that weights differ too), then stacked on
    a new leading axis, or concatenated along `concat_axis` for fused tables. `draw_shape`,
    when given, is the 2-D (fan_in, fan_out) shape each set's values are drawn at before
    being reshaped, for kernels whose fans Keras cannot infer from their shape.
    """

    def draw(m: Optional[int], part_shape: Tuple[int, ...], dtype: Any) -> Tensor:
        init = derive_initializer(initializer, key) if m is None else derive_initializer(initializer, key, m)
        if draw_shape is None:
            return init(part_shape, dtype=dtype)
        return ops.reshape(init(tuple(draw_shape), dtype=dtype), part_shape)

    if num_sets is None:
        return lambda shape, dtype=None: draw(None, tuple(shape), dtype)

    def initialize(shape: Sequence[int], dtype: Any = None) -> Tensor:
        if concat_axis is None:
            part_shape = tuple(shape[1:])
        else:
            sizes = list(shape)
            sizes[concat_axis] //= num_sets
            part_shape = tuple(sizes)
        parts = [draw(m, part_shape, dtype) for m in range(num_sets)]
        if concat_axis is None:
            return ops.stack(parts, axis=0)
        return ops.concatenate(parts, axis=concat_axis)

    return initialize


def check_set_axis(layer_name: str, shape: Shape, num_sets: Optional[int], rank: int) -> None:
    """Fails early, naming the layer, when an input's rank or set axis does not match."""
    expected = rank + (0 if num_sets is None else 1)
    if len(shape) != expected:
        where = "(batch, ...)" if num_sets is None else f"(batch, num_sets={num_sets}, ...)"
        raise ValueError(f"{layer_name} expects inputs of rank {expected} {where}; got shape {tuple(shape)}")
    if num_sets is not None and shape[1] is not None and shape[1] != num_sets:
        raise ValueError(
            f"{layer_name} was built for num_sets={num_sets} but its input has {shape[1]} sets (shape {tuple(shape)})"
        )
