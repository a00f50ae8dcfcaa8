"""DistributedTrainLoop: one epoch of `model.fit`'s work as a loop over `strategy.run`.

Keras 3's `fit` fails under `tf.distribute.MultiWorkerMirroredStrategy` on TF 2.16 and still on
TF 2.21 with Keras 3.15 ("Attempt to convert a value (PerReplica...)" / "Invalid reduction
dimension", two workers on one machine, a two-layer model), so the trainer drives
multi-worker runs with this loop instead. It trains the same Keras model with its own
optimizer and loss, and calls the same Keras callbacks at the same points as `fit`, so the
progress bar, mid-epoch backups and TensorBoard behave alike. It works under any strategy
(`train.loop: custom` selects it for one device or MirroredStrategy too, which is how it is
checked against `fit` in one process).

A step, on every replica: forward pass, `model.compute_loss` (the compiled loss plus the
model's own L2 term, each already divided by the number of replicas, as Keras does under
`tf.distribute`), the optimizer's loss scaling (mixed_float16), gradients, and
`optimizer.apply_gradients`, which all-reduces (sums) the gradients across replicas and
workers. The replicas' losses are summed (`strategy.reduce("SUM")`): each is its share of
the global batch's mean, so the sum is the global batch's loss, the figure `fit` reports.
"""

import sys

import keras

from mezoo.errors import BadInput

LOOPS = ("auto", "fit", "custom")


class LoopError(BadInput, ValueError):
    """A training loop setting that is unknown, or that can't run with the strategy."""


def uses_custom_loop(kind: str, strategy) -> bool:
    """Whether a run with `train.loop: kind` under `strategy` needs `DistributedTrainLoop`.

    `auto`: `fit`, except under multi-worker strategies, where `fit` does not work.
    """
    from mezoo.training.strategies import is_multi_worker

    kind = kind or "auto"
    if kind not in LOOPS:
        raise LoopError(f"unknown train.loop {kind!r}; choose one of {', '.join(LOOPS)}")
    if is_multi_worker(strategy):
        if kind == "fit":
            raise LoopError(
                "train.loop=fit can't run multi-worker: Keras 3's fit fails under MultiWorkerMirroredStrategy "
                "(TF 2.16 to 2.21); use train.loop=auto or custom"
            )
        return True
    return kind == "custom"


class DistributedTrainLoop:
    """Trains `model` (compiled, built under `strategy.scope()`) one epoch at a time.

    Args:
        model: the compiled Keras model; its optimizer, loss and regularisation are used.
        strategy: the `tf.distribute` strategy the model was built under.
        jit_compile: compile each replica's step with XLA (as `fit` does with
            `model.jit_compile`). Off for multi-worker runs: not checked there.
        chief: whether this process is the chief (only used by `agree`).
    """

    def __init__(self, model, strategy, jit_compile: bool = False, chief: bool = True):
        import tensorflow as tf

        self.model, self.strategy, self.chief = model, strategy, chief
        with strategy.scope():
            if not model.optimizer.built:
                model.optimizer.build(model.trainable_variables)
        replica_step = self._replica_step
        if jit_compile:
            replica_step = tf.function(replica_step, jit_compile=True, reduce_retracing=True)

        def step(iterator):
            losses = strategy.run(replica_step, args=(next(iterator),))
            return strategy.reduce("SUM", losses, axis=None)

        self._step = tf.function(step)

        def gather(values):
            rows = strategy.run(lambda: tf.identity(values)[None])
            return strategy.gather(rows, axis=0)

        self._gather = tf.function(gather, input_signature=[tf.TensorSpec([None], tf.float64)])

    def _replica_step(self, data):
        import tensorflow as tf

        model = self.model
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            y_pred = model(x, training=True)
            loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True)
            scaled = model.optimizer.scale_loss(loss)  # the loss scale of mixed_float16; else as is
        variables = model.trainable_weights
        model.optimizer.apply_gradients(zip(tape.gradient(scaled, variables), variables))
        return loss

    def train_epoch(self, dataset, steps: int, epoch: int, callbacks) -> dict:
        """Runs `steps` steps over `dataset` (a `tf.data.Dataset` or a distributed dataset).

        `callbacks` get what `model.fit(..., initial_epoch=epoch, epochs=epoch + 1)` gives them:
        train and epoch begin/end, and batch begin/end with `{"loss": mean loss so far this
        epoch}`. Returns the epoch's logs.
        """
        callbacks = keras.callbacks.CallbackList(callbacks, model=self.model)
        iterator = iter(dataset)
        logs, total = {}, 0.0
        callbacks.on_train_begin()
        callbacks.on_epoch_begin(epoch)
        for batch in range(steps):
            callbacks.on_train_batch_begin(batch)
            total += float(self._step(iterator))
            logs = {"loss": total / (batch + 1)}
            callbacks.on_train_batch_end(batch, logs)
        callbacks.on_epoch_end(epoch, logs)
        callbacks.on_train_end(logs)
        return logs

    def agree(self, values):
        """The chief's `values` (numbers), on every worker; and whether every worker had the same.

        Workers take the epoch-end decisions (plateau, early stopping) each on its own; they
        must take the same ones or the next collective hangs. This is one small all-gather.
        """
        import numpy as np
        import tensorflow as tf

        values = [float(v) for v in values]
        rows = self._gather(tf.constant([1.0 if self.chief else 0.0] + values, tf.float64)).numpy()
        rows = rows.reshape(-1, len(values) + 1)
        chief_rows = rows[rows[:, 0] == 1.0]
        if not len(chief_rows):
            raise RuntimeError("no chief among the workers: check TF_CONFIG")
        chosen = chief_rows[0, 1:]
        same = bool(np.all((rows[:, 1:] == chosen) | (np.isnan(rows[:, 1:]) & np.isnan(chosen))))
        return [float(v) for v in chosen], same


def loop_for_run(model, dist, train_cfg, state, chief):
    """The custom training loop where the run needs one (multi-worker, or `train.loop: custom`), else None."""
    from mezoo.training.placement import is_keras_distribution
    from mezoo.training.placement import multi_worker as is_multi_worker

    if is_keras_distribution(dist):  # (train.loop=custom refused by the trainer's set-up)
        return None
    if not uses_custom_loop(train_cfg.loop, dist):
        return None
    multi_worker = is_multi_worker(dist)
    # XLA stays off across workers (not checked there); elsewhere the loop compiles as fit would.
    loop = DistributedTrainLoop(model, dist, jit_compile=bool(model.jit_compile) and not multi_worker, chief=chief)
    if multi_worker:
        _, same = loop.agree([state.step, state.epoch, state.step_in_epoch])
        if not same:
            raise RuntimeError(
                "the workers restored different backups: every worker must read the chief's run directory "
                "(the same --run_dir on shared storage)"
            )
    return loop


def agree_on_validation(loop, val: dict, worker: str) -> dict:
    """The chief's validation figures on every worker, so that all take the same decisions."""
    (auc, logloss), same = loop.agree([val["auc"], val["logloss"]])
    if not same:
        print(
            f"warning: {worker}: validation differs across workers (here AUC {val['auc']!r}, chief {auc!r}); "
            "following the chief",
            file=sys.stderr,
            flush=True,
        )
    return dict(val, auc=auc, logloss=logloss)
