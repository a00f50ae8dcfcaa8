"""The zoo: `mezoo.models.get(key)(fields, num_embedding_sets=1, embedding_dim=10, **hparams)`.

The paper's six families (docs/method.md §3), SE and ME in one class each: `dnn`, `ipnn`, `nfwfm`,
`xdeepfm`, `dcnv2` (with the ME-SI and orthogonally regularised ablations), `finalmlp`.
More families with the same ME pattern: `dcn` (v1), `deepfm`, `autoint_plus`, `dlrm`, `fwfm`
(FuxiCTR's FwFM: NFwFM's field-weighted interactions without the MLP, for the BARS Frappe
table), and `fm` (where ME is degenerate: see `FM`). `ensemble(models)` averages trained models:
the baseline multi-embedding is compared against.

A family is one module here whose class carries `@register("key")` (`mezoo.models.registry`):
importing this package imports every module in it, so each registered class is exported
under its class name (`mezoo.models.DCNv2`) with no list to keep in step. The class declares
its own hyper-parameters and builds its trunk; `CTRModel` (or `MLPModel`, for a family with an
MLP) takes the common arguments, holds the defaults and writes the config.
"""

import importlib
import pkgutil

from mezoo.models.ctr_model import CTRModel
from mezoo.models.ensemble import ensemble
from mezoo.models.mlp import MLPModel
from mezoo.models.registry import get, names, registered

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

globals().update({cls.__name__: cls for cls in registered().values()})

__all__ = ["CTRModel", "MLPModel", "ensemble", "get", "names", *sorted(cls.__name__ for cls in registered().values())]
