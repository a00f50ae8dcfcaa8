"""CTRModel: what every zoo model shares (inputs, multi-embedding, head, coupled L2)."""

from typing import List, Sequence, Tuple

import keras
from keras import ops

try:  # per-replica share of a loss term under tf.distribute; a no-op elsewhere
    from keras.src.losses.loss import scale_loss_for_distribution
except ImportError:  # pragma: no cover - a Keras without it: single-replica semantics

    def scale_loss_for_distribution(value):
        return value


from mezoo.data.multi_valued import CATEGORICAL_KINDS, POOLINGS, model_field
from mezoo.initializers import FanInUniform
from mezoo.layers import MLPBlock, MultiEmbedding, NumericEmbedding
from mezoo.layers.field_pooling import field_layout

# A field: `(name, vocab_size)` single-valued, `(name, vocab_size, max_len, pooling)` multi-valued.
Field = Tuple


def field_list(fields) -> List[Field]:
    """The categorical fields, from a FeatureSpec-like object or a list of tuples.

    A single-valued field is `(name, vocab_size)`, a multi-valued one (a spec field of kind
    `"multi_valued"`, or a 3- or 4-element entry) `(name, vocab_size, max_len, pooling)`: its
    `max_len` columns of the `ids` input, padded with -1, are pooled as `MultiEmbedding` does
    (`"mean"` by default, `"sum"` or `"sqrtn"`). With `max_len` 1 it is embedded as a
    single-valued field (the data always gives it one id: an empty cell is its missing token).
    Numeric spec fields are left out.

    Example:
    >>> field_list([("user", 100), ["genres", 20, 3, "sqrtn"]])
    [('user', 100), ('genres', 20, 3, 'sqrtn')]
    """
    if hasattr(fields, "fields"):  # a FeatureSpec
        fields = [model_field(f) for f in fields.fields if f.get("kind", "categorical") in CATEGORICAL_KINDS]
    out = [_field(f) for f in fields]
    if not out:
        raise ValueError("a model needs at least one categorical field")
    return out


def _field(entry) -> Field:
    entry = tuple(entry)
    if len(entry) == 2:
        return (str(entry[0]), int(entry[1]))
    if len(entry) not in (3, 4):
        raise ValueError(f"a field is (name, vocab_size) or (name, vocab_size, max_len, pooling); got {list(entry)!r}")
    name, size, max_len = str(entry[0]), int(entry[1]), int(entry[2])
    pooling = str(entry[3]) if len(entry) == 4 else POOLINGS[0]
    field_layout(1, [max_len], [pooling])  # names a max_len < 1 or an unknown pooling
    return (name, size, max_len, pooling)


def field_lengths(fields: Sequence[Field]) -> List[int]:
    """Columns of the `ids` input each field takes: 1, or a multi-valued field's `max_len`."""
    return [int(f[2]) if len(f) > 2 else 1 for f in fields]


def field_poolings(fields: Sequence[Field]) -> List[str]:
    """Each field's pooling (`"mean"` for single-valued fields, where it is unused)."""
    return [str(f[3]) if len(f) > 3 else POOLINGS[0] for f in fields]


def numeric_list(fields, numeric_fields=None) -> List[str]:
    """Names of the numeric fields: `numeric_fields` if given, else a FeatureSpec's `numeric`."""
    if numeric_fields is None:
        numeric_fields = getattr(fields, "numeric", None) or []
    return [str(f["name"] if isinstance(f, dict) else f) for f in numeric_fields]


def torch_dense_initializer():
    """PyTorch's default Linear kernel init, U(+-1/sqrt(fan_in)), the paper's code's."""
    return keras.initializers.VarianceScaling(scale=1.0 / 3.0, mode="fan_in", distribution="uniform")


def mlp_blocks(x, units: Sequence[int], dropout: float, num_sets=None, prefix="mlp"):
    """`Blk(n)` for each width: PyTorch-initialised Dense -> BatchNorm -> ReLU -> Dropout."""
    for i, width in enumerate(units):
        x = MLPBlock(
            width,
            dropout=dropout,
            kernel_initializer=torch_dense_initializer(),
            bias_initializer=FanInUniform(x.shape[-1]),
            num_sets=num_sets,
            name=f"{prefix}_{i}",
        )(x)
    return x


def set_mean_mlp(features, hidden_units: Sequence[int], dropout: float, num_sets: int, prefix: str = ""):
    """The paper's ME trunk: first block per set, plain mean over sets, the rest shared.

    Blocks are named `{prefix}set_mlp_0` and `{prefix}mlp_i`. With no hidden units this is the
    plain mean of `features` over sets.
    """
    per_set = mlp_blocks(features, hidden_units[:1], dropout, num_sets=num_sets, prefix=f"{prefix}set_mlp")
    return mlp_blocks(ops.mean(per_set, axis=1), hidden_units[1:], dropout, prefix=f"{prefix}mlp")


class CTRModel(keras.Model):
    """Base of the zoo: `{"ids": (batch, num_fields)}` in, click probability `(batch, 1)` out.

    With numeric fields the input gains `"dense": (batch, num_numeric)` floats. A multi-valued
    field (`(name, vocab_size, max_len, pooling)`) takes `max_len` columns of `"ids"`, padded
    with -1, and is pooled to one embedding per set, so every interaction still sees one
    embedding per field (`num_fields` counts fields, not columns). Subclasses
    build their graph with `_inputs`, `_embed` and `_head` before calling
    `CTRModel.__init__(self, inputs, logit, fields, num_embedding_sets, embedding_dim,
    l2_regularization, hidden_units=..., dropout=..., ...)`; a family without an MLP (FM)
    passes neither, and its config has no such keys.

    The model owns the paper's weight decay: coupled L2, `l2_regularization * sum(w^2)` over
    every trainable weight (embeddings, biases and BatchNorm included) added to the loss, so
    the gradient gains `2 * l2_regularization * w` (5e-7 gives the paper's 1e-6). The
    optimiser's own `weight_decay` should stay 0. With `sparse_embedding_l2` set (mezoo's
    fast mode, `mezoo.training.compile_model(model, "fast")`), the gathered tables
    (`row_tables`: the embeddings, and FM-style first-order weights) are left out of the
    penalty, so its gradient stays row-sparse, and the optimiser applies the same
    coupled L2 to the rows each batch touches (`RowSparseAdam(sparse_l2=...)`): rows outside
    the batch no longer decay.

    Every family also takes `embedding_l2_regularization` (default 0): an extra
    `embedding_l2_regularization * sum(E^2)` over the gathered tables only, the
    embedding-only regulariser of FuxiCTR / BARS (their `embedding_regularizer=λ` is
    `λ/2 * ||E||^2`, so λ = 0.05 is 0.025 here). Fast mode applies it on the touched rows
    with the optimiser's `sparse_l2`, like the coupled L2.
    """

    # Options every family takes through **kwargs (recipes may set them too).
    COMMON_KEYS = ("embedding_l2_regularization",)

    @staticmethod
    def _inputs(fields, numeric_fields=()):
        """`{"ids": (batch, T)}`, T the fields' columns (one each but multi-valued fields), + `"dense"`."""
        inputs = {"ids": keras.Input(shape=(sum(field_lengths(fields)),), dtype="int32", name="ids")}
        if numeric_fields:
            inputs["dense"] = keras.Input(shape=(len(numeric_fields),), dtype="float32", name="dense")
        return inputs

    @staticmethod
    def _embed(inputs, fields, embedding_dim, num_embedding_sets, numeric_fields=()):
        """(batch, M, fields, d): categorical embeddings, then value x vector per numeric field."""
        emb = MultiEmbedding(
            [f[1] for f in fields],
            embedding_dim,
            num_embedding_sets,
            field_names=[f[0] for f in fields],
            field_lengths=field_lengths(fields),
            poolings=field_poolings(fields),
            name="multi_embedding",
        )(inputs["ids"])
        if numeric_fields:
            numeric = NumericEmbedding(len(numeric_fields), embedding_dim, num_embedding_sets, name="numeric_embedding")
            emb = ops.concatenate([emb, numeric(inputs["dense"])], axis=2)
        return emb

    @classmethod
    def _embedded_inputs(cls, fields, numeric_fields, embedding_dim, num_embedding_sets):
        """`(field tuples, numeric names, input dict, embeddings (batch, M, fields, d))`."""
        numeric = numeric_list(fields, numeric_fields)
        fields = field_list(fields)
        inputs = cls._inputs(fields, numeric)
        return fields, numeric, inputs, cls._embed(inputs, fields, embedding_dim, num_embedding_sets, numeric)

    @staticmethod
    def _head(hidden, name="logit"):
        return keras.layers.Dense(
            1, kernel_initializer=torch_dense_initializer(), bias_initializer=FanInUniform(hidden.shape[-1]), name=name
        )(hidden)

    def __init__(
        self,
        inputs,
        logit,
        fields,
        num_embedding_sets,
        embedding_dim,
        l2_regularization,
        hidden_units=None,
        dropout=None,
        numeric_fields=(),
        sparse_embedding_l2=False,
        **kwargs,
    ):
        embedding_l2 = float(kwargs.pop("embedding_l2_regularization", 0.0) or 0.0)
        if embedding_l2 < 0 or l2_regularization < 0:
            raise ValueError("l2_regularization and embedding_l2_regularization must be >= 0")
        probability = keras.layers.Activation("sigmoid", dtype="float32", name="probability")(logit)
        super().__init__(inputs=inputs, outputs=probability, **kwargs)
        self.embedding_l2_regularization = embedding_l2
        self.fields = fields
        self.num_embedding_sets = int(num_embedding_sets)
        self.embedding_dim = int(embedding_dim)
        # None: a family without an MLP (FM), whose config then has no such keys
        self.hidden_units = None if hidden_units is None else [int(u) for u in hidden_units]
        self.dropout = None if dropout is None else float(dropout)
        self.l2_regularization = float(l2_regularization)
        self.numeric_fields = list(numeric_fields)
        self.sparse_embedding_l2 = bool(sparse_embedding_l2)

    @property
    def multi_embedding(self) -> MultiEmbedding:
        return self.get_layer("multi_embedding")

    def logits_model(self) -> keras.Model:
        """A model sharing these weights that returns the pre-sigmoid logit."""
        return keras.Model(self.inputs, self.get_layer("logit").output)

    @property
    def num_fields(self) -> int:
        """Categorical plus numeric fields: the field axis every interaction sees."""
        return len(self.fields) + len(self.numeric_fields)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = super().compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)
        penalty = self.regularization_penalty()
        if penalty is not None:
            # Replicas' gradients are summed, so each adds its share, like Keras' own losses.
            loss = loss + scale_loss_for_distribution(ops.cast(penalty, loss.dtype))
        return loss

    def regularization_penalty(self):
        """The coupled L2 terms this model adds to the loss (None when there are none)."""
        terms = []
        if self.l2_regularization:
            terms.append(self.l2_regularization * self.l2_penalty())
        if self.embedding_l2_regularization and not self.sparse_embedding_l2:
            tables = ops.stack([ops.sum(ops.square(t)) for t in self.row_tables])
            terms.append(self.embedding_l2_regularization * ops.sum(tables))
        return sum(terms[1:], terms[0]) if terms else None

    @property
    def row_tables(self) -> list:
        """The gathered tables (embeddings, FM-style first-order weights): row-sparse gradients."""
        tables = [self.multi_embedding.embeddings]
        if any(layer.name == "first_order" for layer in self.layers):
            tables.append(self.get_layer("first_order").table)
        return tables

    def l2_penalty(self, x=None):
        """`sum(w^2)` over the trainable weights (but the gathered tables when sparse)."""
        skip = {id(t) for t in self.row_tables} if self.sparse_embedding_l2 else set()
        weights = [w for w in self.trainable_weights if id(w) not in skip]
        return ops.sum(ops.stack([ops.sum(ops.square(w)) for w in weights]))

    def get_config(self):
        mlp = {} if self.hidden_units is None else {"hidden_units": self.hidden_units, "dropout": self.dropout}
        return {
            "name": self.name,
            "fields": [list(f) for f in self.fields],
            "num_embedding_sets": self.num_embedding_sets,
            "embedding_dim": self.embedding_dim,
            **mlp,
            "l2_regularization": self.l2_regularization,
            "numeric_fields": self.numeric_fields,
            "sparse_embedding_l2": self.sparse_embedding_l2,
            "embedding_l2_regularization": self.embedding_l2_regularization,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
