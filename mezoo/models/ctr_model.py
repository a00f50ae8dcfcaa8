"""CTRModel: what every zoo model shares (inputs, multi-embedding, head, coupled L2)."""

from typing import List, Sequence, Tuple

import keras
from keras import ops

from mezoo.layers import MLPBlock, MultiEmbedding


def field_list(fields) -> List[Tuple[str, int]]:
    """`(name, vocab_size)` pairs from a FeatureSpec-like object or a list of pairs."""
    if hasattr(fields, "fields"):  # a FeatureSpec
        fields = [(f["name"], f["vocab_size"]) for f in fields.fields if f.get("kind", "categorical") == "categorical"]
    pairs = [(str(name), int(size)) for name, size in fields]
    if not pairs:
        raise ValueError("a model needs at least one categorical field")
    return pairs


def torch_dense_initializer():
    """PyTorch's default Linear kernel init, U(+-1/sqrt(fan_in)), the paper's code's."""
    return keras.initializers.VarianceScaling(scale=1.0 / 3.0, mode="fan_in", distribution="uniform")


def mlp_blocks(x, units: Sequence[int], dropout: float, num_sets=None, prefix="mlp"):
    for i, width in enumerate(units):
        x = MLPBlock(
            width, dropout=dropout, kernel_initializer=torch_dense_initializer(), num_sets=num_sets, name=f"{prefix}_{i}"
        )(x)
    return x


def set_mean_mlp(features, hidden_units: Sequence[int], dropout: float, num_sets: int):
    """The paper's ME trunk: first block per set, plain mean over sets, the rest shared."""
    per_set = mlp_blocks(features, hidden_units[:1], dropout, num_sets=num_sets, prefix="set_mlp")
    return mlp_blocks(ops.mean(per_set, axis=1), hidden_units[1:], dropout, prefix="mlp")


class CTRModel(keras.Model):
    """Base of the zoo: `{"ids": (batch, num_fields)}` in, click probability `(batch, 1)` out.

    Subclasses build their graph with `_embed` and `_head` before calling
    `CTRModel.__init__(self, inputs, logit, ...)`. The model owns the paper's weight decay:
    coupled L2, `l2_regularization * sum(w^2)` over every trainable weight (embeddings,
    biases and BatchNorm included) added to the loss, so the gradient gains
    `2 * l2_regularization * w` (5e-7 gives the paper's 1e-6). The optimiser's own
    `weight_decay` should stay 0.
    """

    @staticmethod
    def _inputs(fields):
        return {"ids": keras.Input(shape=(len(fields),), dtype="int32", name="ids")}

    @staticmethod
    def _embed(inputs, fields, embedding_dim, num_embedding_sets):
        return MultiEmbedding(
            [size for _, size in fields],
            embedding_dim,
            num_embedding_sets,
            field_names=[name for name, _ in fields],
            name="multi_embedding",
        )(inputs["ids"])

    @staticmethod
    def _head(hidden):
        logit = keras.layers.Dense(1, kernel_initializer=torch_dense_initializer(), name="logit")(hidden)
        return logit

    def __init__(
        self, inputs, logit, fields, num_embedding_sets, embedding_dim, hidden_units, dropout, l2_regularization, **kwargs
    ):
        probability = keras.layers.Activation("sigmoid", dtype="float32", name="probability")(logit)
        super().__init__(inputs=inputs, outputs=probability, **kwargs)
        self.fields = fields
        self.num_embedding_sets = int(num_embedding_sets)
        self.embedding_dim = int(embedding_dim)
        self.hidden_units = [int(u) for u in hidden_units]
        self.dropout = float(dropout)
        self.l2_regularization = float(l2_regularization)

    @property
    def multi_embedding(self) -> MultiEmbedding:
        return self.get_layer("multi_embedding")

    def logits_model(self) -> keras.Model:
        """A model sharing these weights that returns the pre-sigmoid logit."""
        return keras.Model(self.inputs, self.get_layer("logit").output)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = super().compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)
        if self.l2_regularization:
            penalty = ops.sum(ops.stack([ops.sum(ops.square(w)) for w in self.trainable_weights]))
            loss = loss + ops.cast(self.l2_regularization * penalty, loss.dtype)
        return loss

    def get_config(self):
        return {
            "name": self.name,
            "fields": [list(f) for f in self.fields],
            "num_embedding_sets": self.num_embedding_sets,
            "embedding_dim": self.embedding_dim,
            "hidden_units": self.hidden_units,
            "dropout": self.dropout,
            "l2_regularization": self.l2_regularization,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
