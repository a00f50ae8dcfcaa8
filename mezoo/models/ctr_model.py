"""CTRModel: what every zoo model shares (arguments, inputs, multi-embedding, head, coupled L2, config)."""

import collections.abc
import inspect
import types
import typing
from typing import Any, ClassVar, Dict, List, Optional, Sequence, Tuple

import keras
from keras import ops

try:  # per-replica share of a loss term under tf.distribute; a no-op elsewhere
    from keras.src.losses.loss import scale_loss_for_distribution
except ImportError:  # pragma: no cover - a Keras without it: single-replica semantics

    def scale_loss_for_distribution(value):
        return value


from mezoo.fields import CATEGORICAL_KINDS, Field, field_lengths, field_poolings
from mezoo.initializers import FanInUniform
from mezoo.layers import MultiEmbedding, NumericEmbedding


def field_list(fields) -> List[Field]:
    """The categorical fields (`mezoo.fields.Field`), from a FeatureSpec-like object or a list of tuples.

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
    if hasattr(fields, "fields"):  # a FeatureSpec, or an object with its `fields` list
        fields = [Field.from_spec(f) for f in fields.fields if f.get("kind", "categorical") in CATEGORICAL_KINDS]
    out = [Field.of(f) for f in fields]
    if not out:
        raise ValueError("a model needs at least one categorical field")
    return out


def numeric_list(fields, numeric_fields=None) -> List[str]:
    """Names of the numeric fields: `numeric_fields` if given, else a FeatureSpec's `numeric`."""
    if numeric_fields is None:
        numeric_fields = getattr(fields, "numeric", None) or []
    return [str(f["name"] if isinstance(f, dict) else f) for f in numeric_fields]


def torch_dense_initializer():
    """PyTorch's default Linear kernel init, U(+-1/sqrt(fan_in)), the paper's code's."""
    return keras.initializers.VarianceScaling(scale=1.0 / 3.0, mode="fan_in", distribution="uniform")


def declared(kind: Any, value: Any) -> Any:
    """`value` as a hyper-parameter declared `kind` holds it: int, float, bool or str, a list for a
    `Sequence[...]`, None where `Optional[...]` allows it (so that configs hold plain values)."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        if value is None:
            return None
        kind = next(k for k in typing.get_args(kind) if k is not type(None))
    if typing.get_origin(kind) is collections.abc.Sequence:
        (item,) = typing.get_args(kind)
        return [item(v) for v in value]
    return kind(value)


class ClassSignature:
    """`inspect.signature(Family)` (what `help` shows): `Family.signature()`. Instances don't see
    it, so a model, a callable, keeps the signature of its `__call__`."""

    def __get__(self, instance, owner) -> inspect.Signature:
        if instance is not None:
            raise AttributeError("__signature__")
        return owner.signature()


class CTRModel(keras.Model):
    """Base of the zoo: `{"ids": (batch, num_fields)}` in, click probability `(batch, 1)` out.

    A family is a subclass that declares its own hyper-parameters as annotated class attributes
    (name, type and default, as a dataclass declares its fields) and builds its interaction
    trunk in `trunk`; this class takes the common arguments below and the family's (keyword
    only), stores each, converted to its declared type, as an attribute of the model (the trunk
    reads them there) and writes them all to the config (`get_config` / `from_config`):

        @register("dcn")
        class DCN(MLPModel):  # MLPModel (mezoo.models.mlp): hidden_units and dropout
            num_cross_layers: int = 4

            def trunk(self, inputs, embeddings):
                flat = ops.reshape(embeddings, (-1, self.num_embedding_sets, ...))
                ...
                return self._head(hidden)

    With numeric fields the input gains `"dense": (batch, num_numeric)` floats. A multi-valued
    field (`(name, vocab_size, max_len, pooling)`) takes `max_len` columns of `"ids"`, padded
    with -1, and is pooled to one embedding per set, so every interaction still sees one
    embedding per field (`num_fields` counts fields, not columns).

    The model owns the paper's weight decay: coupled L2, `l2_regularization * sum(w^2)` over
    every trainable weight (embeddings, biases and BatchNorm included) added to the loss, so
    the gradient gains `2 * l2_regularization * w` (5e-7 gives the paper's 1e-6). The
    optimiser's own `weight_decay` should stay 0. With `sparse_embedding_l2` set (mezoo's
    fast mode, `mezoo.training.compile_model(model, "fast")`), the gathered tables
    (`row_tables`: the embeddings, and FM-style first-order weights) are left out of the
    penalty, so its gradient stays row-sparse, and the optimiser applies the same
    coupled L2 to the rows each batch touches (`RowSparseAdam(sparse_l2=...)`): rows outside
    the batch no longer decay.

    `embedding_l2_regularization` (default 0) adds
    `embedding_l2_regularization * sum(E^2)` over the gathered tables only, the
    embedding-only regulariser of FuxiCTR / BARS (their `embedding_regularizer=λ` is
    `λ/2 * ||E||^2`, so λ = 0.05 is 0.025 here). Fast mode applies it on the touched rows
    with the optimiser's `sparse_l2`, like the coupled L2.

    Args:
        fields: a FeatureSpec or a list of `(name, vocab_size)` pairs (`(name, vocab_size, max_len,
            pooling)` for a multi-valued field).
        num_embedding_sets: M (1 = single embedding).
        embedding_dim: width of one set.
        l2_regularization: coupled L2 on every weight (above).
        numeric_fields: names of numeric fields, fed as `"dense"`; default: a FeatureSpec's.
        sparse_embedding_l2: fast mode's L2 on the batch's embedding rows only (above).
        embedding_l2_regularization: an extra L2 on the gathered tables only (above).
        **kwargs: the family's hyper-parameters (its docstring); the rest (`name`, ...) go to
            `keras.Model`.

    Example:
    >>> import inspect
    >>> from mezoo.models import DCN
    >>> list(inspect.signature(DCN).parameters)[:6]  # what help(DCN) shows, then the common keywords
    ['fields', 'num_embedding_sets', 'embedding_dim', 'hidden_units', 'dropout', 'num_cross_layers']
    >>> DCN([("user", 100), ("item", 50)], num_cross_layers=2).get_config()["num_cross_layers"]
    2
    """

    __signature__ = ClassSignature()

    # The common arguments, as the model holds them (set by `__init__`).
    fields: List[Field]
    num_embedding_sets: int
    embedding_dim: int
    l2_regularization: float
    numeric_fields: List[str]
    sparse_embedding_l2: bool
    embedding_l2_regularization: float

    def __init__(
        self,
        fields,
        num_embedding_sets: int = 1,
        embedding_dim: int = 10,
        *,
        l2_regularization: float = 5e-7,
        numeric_fields: Optional[Sequence[str]] = None,
        sparse_embedding_l2: bool = False,
        embedding_l2_regularization: Optional[float] = 0.0,
        **kwargs,
    ):
        declarations = self.hyperparameters().items()
        own = {name: declared(kind, kwargs.pop(name, default)) for name, (kind, default) in declarations}
        if (embedding_l2_regularization or 0.0) < 0 or l2_regularization < 0:
            raise ValueError("l2_regularization and embedding_l2_regularization must be >= 0")
        arguments = {
            "fields": field_list(fields),
            "num_embedding_sets": int(num_embedding_sets),
            "embedding_dim": int(embedding_dim),
            "l2_regularization": float(l2_regularization),
            "numeric_fields": numeric_list(fields, numeric_fields),
            "sparse_embedding_l2": bool(sparse_embedding_l2),
            "embedding_l2_regularization": float(embedding_l2_regularization or 0.0),
            **own,
        }
        # The trunk reads the arguments as attributes before keras.Model.__init__ has run: they go
        # into the instance's dict here, untracked, and are set again once Keras is initialised,
        # since only then does it record the list attributes a SavedModel export keeps.
        self.__dict__.update(arguments)
        inputs = self._inputs(self.fields, self.numeric_fields)
        logit = self.trunk(inputs, self.embed(inputs))
        probability = keras.layers.Activation("sigmoid", dtype="float32", name="probability")(logit)
        super().__init__(inputs=inputs, outputs=probability, **kwargs)
        for name, value in arguments.items():
            setattr(self, name, value)

    @classmethod
    def hyperparameters(cls) -> Dict[str, Tuple[Any, Any]]:
        """The family's own arguments, name -> (type, default): the annotated class attributes of
        the family and of its bases below `CTRModel` (a subclass's default wins)."""
        found: Dict[str, Tuple[Any, Any]] = {}
        for base in reversed(cls.__mro__):
            if issubclass(base, CTRModel) and base is not CTRModel:
                for name, kind in inspect.get_annotations(base, eval_str=True).items():
                    if typing.get_origin(kind) is not ClassVar:
                        found[name] = (kind, getattr(cls, name))
        return found

    @classmethod
    def signature(cls) -> inspect.Signature:
        """The constructor's signature with the family's own arguments in it, keyword only."""
        fields, sets, width, *common = list(inspect.signature(CTRModel.__init__).parameters.values())[1:]
        own = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind)
            for name, (kind, default) in cls.hyperparameters().items()
        ]
        return inspect.Signature([fields, sets, width, *own, *common])

    @classmethod
    def arguments(cls) -> Dict[str, Any]:
        """Every keyword argument of the family with its default (recipes may set each)."""
        parameters = cls.signature().parameters.values()
        return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}

    def trunk(self, inputs: Dict[str, Any], embeddings: Any) -> Any:
        """The family's interaction trunk: the logit `(batch, 1)`, named `logit`.

        Args:
            inputs: the model's input dict (`"ids"`, and `"dense"` with numeric fields).
            embeddings: `embed(inputs)`, (batch, M, fields, d).
        """
        raise NotImplementedError(f"{type(self).__name__} builds no trunk")

    @staticmethod
    def _inputs(fields, numeric_fields=()):
        """`{"ids": (batch, T)}`, T the fields' columns (one each but multi-valued fields), + `"dense"`."""
        inputs = {"ids": keras.Input(shape=(sum(field_lengths(fields)),), dtype="int32", name="ids")}
        if numeric_fields:
            inputs["dense"] = keras.Input(shape=(len(numeric_fields),), dtype="float32", name="dense")
        return inputs

    def embed(self, inputs):
        """(batch, M, fields, d): the categorical embeddings, then value x vector per numeric field."""
        emb = self.categorical_embeddings(inputs)
        if self.numeric_fields:
            sets, width = self.num_embedding_sets, self.embedding_dim
            numeric = NumericEmbedding(len(self.numeric_fields), width, sets, name="numeric_embedding")
            emb = ops.concatenate([emb, numeric(inputs["dense"])], axis=2)
        return emb

    def categorical_embeddings(self, inputs):
        """(batch, M, categorical fields, d): the `multi_embedding` layer on `inputs["ids"]`."""
        return MultiEmbedding(
            [f[1] for f in self.fields],
            self.embedding_dim,
            self.num_embedding_sets,
            field_names=[f[0] for f in self.fields],
            field_lengths=field_lengths(self.fields),
            poolings=field_poolings(self.fields),
            name="multi_embedding",
        )(inputs["ids"])

    @staticmethod
    def _head(hidden, name="logit"):
        return keras.layers.Dense(
            1, kernel_initializer=torch_dense_initializer(), bias_initializer=FanInUniform(hidden.shape[-1]), name=name
        )(hidden)

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
        config = {name: getattr(self, name) for name in self.arguments()}
        return {"name": self.name, "fields": [list(f) for f in self.fields], **config}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
