"""The converter's error: a conversion that can't be done, said in the message (exit status 2)."""

from mezoo.errors import BadInput


class ConversionError(BadInput):
    pass
