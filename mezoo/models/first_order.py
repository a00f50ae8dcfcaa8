"""The first-order (linear) logit of FM-style models, as a named `FirstOrderTerm` layer."""

from mezoo.fields import field_lengths, field_poolings
from mezoo.layers import FirstOrderTerm


def first_order_logit(inputs, fields, numeric_fields, use_bias=True):
    """The `FirstOrderTerm` of a model's input dict, named `first_order`.

    Args:
        inputs: the model's input dict (`"ids"`, and `"dense"` when there are numeric fields).
        fields: the categorical fields' tuples (`field_list`): a multi-valued field contributes
            the pooled weight of its ids.
        numeric_fields: names of the numeric fields.
        use_bias: whether the term adds its own bias.
    """
    term = FirstOrderTerm(
        [f[1] for f in fields],
        len(numeric_fields),
        use_bias=use_bias,
        field_lengths=field_lengths(fields),
        poolings=field_poolings(fields),
        name="first_order",
    )
    if numeric_fields:
        return term(inputs["ids"], inputs["dense"])
    return term(inputs["ids"])
