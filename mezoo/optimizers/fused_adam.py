"""FusedAdam: Keras' Adam, each variable's update one fused kernel."""

import functools
import math
from typing import Callable, Optional

import keras

from mezoo.layers.row_padding import load_resized

# Tables from this size (float32 bytes) take one XLA-compiled kernel per exact step; smaller ones
# TensorFlow's kernels. Measured on 910,747-row tables, 2 cores: XLA's kernel 30 against 17.6 ms
# at 56 MiB, 46 against 31 at 83, a tie at 111, 55 against 62 at 139, 135 against 251 at 347.
XLA_TABLE_STEP_BYTES = 128 * 2**20


@keras.saving.register_keras_serializable(package="mezoo")
class FusedAdam(keras.optimizers.Adam):
    """`keras.optimizers.Adam` with the same update computed by one kernel per variable.

    Keras 3's Adam on TensorFlow updates a variable in five separate ops (two moment updates,
    a square, a square root and a division), each a full pass over the variable; without XLA
    that is most of the exact mode's step at Criteo vocabularies (40 ms of a 155 ms DCNv2
    step for the 9.1 M-float embedding table, against 9 ms for TensorFlow's fused
    `ResourceApplyAdam`; benchmarks/train_step.py). That kernel computes exactly Keras' formula:

        m += (g - m) (1 - beta_1);  v += (g^2 - v) (1 - beta_2)
        w -= lr sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)

    with t the step about to be taken. Elsewhere (another backend, amsgrad, a
    `tf.distribute` strategy, whose variables the raw kernel can't address) it is Keras'
    Adam's own update.

    A table's gradient (a row-sparse `tf.IndexedSlices`) gets dense Adam, the exact
    semantics: every row moves. From `XLA_TABLE_STEP_BYTES` (128 MiB) a table's whole step
    (the batch's rows scattered into the coupled L2's decay term, both moments, the weights)
    is one XLA-compiled kernel, also when the training step itself is not compiled by XLA
    (so exact mode with such tables needs a TensorFlow build with XLA, as the CPU and CUDA
    ones are): `ResourceApplyAdam` does not split its work over threads, and with the
    decay's multiply and the rows' add it took 255 ms on a 910,747 x 100 table (2 cores)
    against the kernel's 147; on smaller tables, which caches serve better, TensorFlow's
    kernels are faster. Keras' own Adam, given a row-sparse gradient, squares each of a
    batch's repeated rows apart instead of their sum; here they are summed first, as dense
    Adam does.

    `table_l2` is the coupled L2 of gathered tables, applied here rather than through the
    loss: a table's gradient becomes `2 * table_l2 * w` for every row with the batch's rows
    added, exactly the gradient a `table_l2 * sum(w^2)` loss term adds, so every row still
    decays every step. Through the loss the same gradient costs a dense read, square, sum and
    their backward pass, plus merging the sparse and dense gradients: 49 of a 187 ms DCNv2 step
    at Criteo vocabularies without XLA (benchmarks/train_step.py). Outside the XLA kernel
    (smaller tables, a strategy, amsgrad), when the step runs without XLA (`step_uses_xla`,
    set by `compile_model`), the batch's rows are added into the decay term in place, saving
    a scatter's copy of the table. Leave the tables out of the loss's penalty (a zoo model's
    `sparse_embedding_l2=True`), or they decay twice.

    Args:
        table_l2: coupled L2 coefficient for gathered tables (a zoo model's
            `l2_regularization` plus its `embedding_l2_regularization`).
        Others: as `keras.optimizers.Adam`.

    Example:
    >>> import mezoo
    >>> model = mezoo.models.get("dnn")([("a", 5), ("b", 7)], hidden_units=[8])
    >>> model.compile(optimizer=FusedAdam(1e-3, epsilon=1e-8), loss="binary_crossentropy")
    >>> model.optimizer.epsilon
    1e-08
    """

    def __init__(self, learning_rate=0.001, table_l2: float = 0.0, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.table_l2 = float(table_l2)
        # Whether the step is compiled by XLA, asked when the step is traced: outside the tables'
        # XLA kernel `table_l2` then adds the batch's rows with a scatter, XLA having no
        # `InplaceAdd`. None (unknown: the scatter) unless `compile_model` sets it from the
        # model's `jit_compile`. Not part of the config.
        self.step_uses_xla: Optional[Callable[[], bool]] = None
        # The step count and the learning rate (unless a schedule): an unbuilt optimizer's variables.
        self._variables_before_build = len(self.variables)

    def load_own_variables(self, store) -> None:
        saved = len(store.keys())
        if saved == self._variables_before_build < len(self.variables):
            # Saved compiled but before the first step (the optimizer unbuilt, its moments not
            # made yet) and loaded into a built one: its moments stay the zeros a first step starts
            # from. (Keras warns "Skipping variable loading" here and loads nothing.)
            load_resized(self.variables[:saved], store, "FusedAdam")
            return
        if saved != len(self.variables):
            return super().load_own_variables(store)  # Keras' warning, and nothing loaded
        # A sharded run's tables are padded (mezoo.layers.row_padding), and so are their slots.
        load_resized(self.variables, store, "FusedAdam")

    def update_step(self, gradient, variable, learning_rate):
        raw = keras.backend.backend() == "tensorflow" and not self.amsgrad and not _in_strategy()
        table = type(gradient).__name__ == "IndexedSlices"
        if table and not (raw and math.prod(variable.shape) * 4 >= XLA_TABLE_STEP_BYTES):
            # Dense Adam outside the tables' XLA kernel (Keras' own would square a batch's repeated rows apart).
            gradient = self._with_table_l2(gradient, variable) if self.table_l2 else _dense(gradient)
            table = False
        if not raw:
            return super().update_step(gradient, variable, learning_rate)
        import tensorflow as tf

        dtype = variable.dtype
        step = tf.cast(self.iterations + 1, dtype)
        index = self._get_variable_index(variable)
        momentum, velocity = self._momentums[index], self._velocities[index]
        hyper = {
            "beta1_power": tf.pow(tf.cast(self.beta_1, dtype), step),
            "beta2_power": tf.pow(tf.cast(self.beta_2, dtype), step),
            "lr": tf.cast(learning_rate, dtype),
            "beta1": tf.cast(self.beta_1, dtype),
            "beta2": tf.cast(self.beta_2, dtype),
            "epsilon": tf.cast(self.epsilon, dtype),
        }
        if table:
            _table_step()(
                _value(variable).handle,
                _value(momentum).handle,
                _value(velocity).handle,
                tf.expand_dims(gradient.indices, -1),
                tf.cast(gradient.values, dtype),
                2.0 * self.table_l2,
                **hyper,
            )
            return
        tf.raw_ops.ResourceApplyAdam(
            var=_value(variable).handle,
            m=_value(momentum).handle,
            v=_value(velocity).handle,
            grad=tf.cast(tf.convert_to_tensor(gradient), dtype),
            **hyper,
        )

    def _with_table_l2(self, gradient, variable):
        import tensorflow as tf  # IndexedSlices only exist on the TensorFlow backend

        value = _value(variable)
        decay = tf.cast(2.0 * self.table_l2, value.dtype) * tf.convert_to_tensor(value)
        values = tf.cast(gradient.values, value.dtype)
        in_place = self.step_uses_xla is not None and not self.step_uses_xla()
        if in_place and value.shape[0] < 2**31:  # InplaceAdd's row indices are int32
            # `decay` is a fresh tensor nothing else reads, so the batch's rows can be added into it
            # in place (InplaceAdd aliases its input; duplicate rows add up as in the scatter).
            # tensor_scatter_nd_add copies it first: a whole-table copy.
            return tf.raw_ops.InplaceAdd(x=decay, i=tf.cast(gradient.indices, tf.int32), v=values)
        rows = tf.expand_dims(tf.cast(gradient.indices, tf.int64), -1)
        return tf.tensor_scatter_nd_add(decay, rows, values)

    def get_config(self):
        return {**super().get_config(), "table_l2": self.table_l2}


def _value(variable):
    return variable.value if isinstance(variable, keras.Variable) else variable


def _dense(gradient):
    import tensorflow as tf  # IndexedSlices only exist on the TensorFlow backend

    return tf.convert_to_tensor(gradient)


def _in_strategy() -> bool:
    import tensorflow as tf

    return tf.distribute.has_strategy()


@functools.lru_cache(maxsize=None)
def _table_step():
    """A table's whole Adam step as one XLA-compiled kernel: the row-sparse gradient scattered
    into the decay term, then both moments and the weights updated in one fused loop (why and
    when: `FusedAdam`'s docstring, `XLA_TABLE_STEP_BYTES`). Inside a step compiled by XLA it is
    inlined; without, it is one XLA cluster in the step.
    """
    import tensorflow as tf

    # One function for the process, not an optimizer attribute: TensorFlow would track it as the
    # optimizer's child (and a SavedModel of a live model try to save it). `reduce_retracing`: one
    # trace for tables of any shape; XLA compiles once per concrete shape.
    @tf.function(jit_compile=True, reduce_retracing=True)
    def step(var, m, v, rows, values, decay, beta1_power, beta2_power, lr, beta1, beta2, epsilon):
        # Handles, not variables: a function shared by every model must not capture one's variables.
        def read(handle):
            return tf.raw_ops.ReadVariableOp(resource=handle, dtype=values.dtype)

        weights = read(var)
        base = decay * weights if decay else tf.zeros_like(weights)
        gradient = tf.tensor_scatter_nd_add(base, rows, values)
        alpha = lr * tf.sqrt(1 - beta2_power) / (1 - beta1_power)
        momentum = read(m) + (gradient - read(m)) * (1 - beta1)
        velocity = read(v) + (tf.square(gradient) - read(v)) * (1 - beta2)
        tf.raw_ops.AssignVariableOp(resource=m, value=momentum)
        tf.raw_ops.AssignVariableOp(resource=v, value=velocity)
        tf.raw_ops.AssignVariableOp(resource=var, value=weights - (momentum * alpha) / (tf.sqrt(velocity) + epsilon))

    return step
