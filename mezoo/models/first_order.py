"""The first-order (linear) logit of FM-style models, as a named `FirstOrderTerm` layer."""

from mezoo.layers import FirstOrderTerm


def first_order_logit(inputs, fields, numeric_fields, use_bias=True):
    """The `FirstOrderTerm` of a model's input dict, named `first_order`.

    Args:
        inputs: the model's input dict (`"ids"`, and `"dense"` when there are numeric fields).
        fields: `(name, vocab_size)` pairs of the categorical fields.
        numeric_fields: names of the numeric fields.
        use_bias: whether the term adds its own bias.
    """
    term = FirstOrderTerm([size for _, size in fields], len(numeric_fields), use_bias=use_bias, name="first_order")
    if numeric_fields:
        return term(inputs["ids"], inputs["dense"])
    return term(inputs["ids"])
