"""Type aliases for the layers' signatures.

Keras has no static tensor type (a tensor is a backend's own class, or a `KerasTensor` while
tracing), so tensors are `Any`. A shape's sizes are ints, or None where unknown (the batch
axis): typed `Any`, since a layer reads only sizes it requires to be known, and mypy cannot
see that check.
"""

from typing import Any, Dict, Optional, Sequence, Tuple

Tensor = Any
Shape = Sequence[Any]
OutputShape = Tuple[Optional[int], ...]
Config = Dict[str, Any]
