"""The zoo: `mezoo.models.get(key)(fields, num_embedding_sets=1, embedding_dim=10, **hparams)`.

The paper's six families (PAPER.md §2), SE and ME in one class each: `dnn`, `ipnn`, `nfwfm`,
`xdeepfm`, `dcnv2` (with the ME-SI and orthogonally regularised ablations), `finalmlp`.
More families with the same ME pattern: `dcn` (v1), `deepfm`, `autoint_plus`, `dlrm`, and
`fm` (where ME is degenerate: see `FM`).
"""

from mezoo.models.autoint_plus import AutoIntPlus
from mezoo.models.ctr_model import CTRModel
from mezoo.models.dcn import DCN
from mezoo.models.dcnv2 import DCNv2
from mezoo.models.deepfm import DeepFM
from mezoo.models.dlrm import DLRM
from mezoo.models.dnn import DNN
from mezoo.models.finalmlp import FinalMLP
from mezoo.models.first_order import FirstOrderTerm
from mezoo.models.fm import FM
from mezoo.models.ipnn import IPNN
from mezoo.models.nfwfm import NFwFM
from mezoo.models.xdeepfm import XDeepFM

_REGISTRY = {
    "dnn": DNN,
    "ipnn": IPNN,
    "nfwfm": NFwFM,
    "xdeepfm": XDeepFM,
    "dcnv2": DCNv2,
    "finalmlp": FinalMLP,
    "dcn": DCN,
    "deepfm": DeepFM,
    "autoint_plus": AutoIntPlus,
    "dlrm": DLRM,
    "fm": FM,
}


def names():
    """Registry keys of the models, sorted."""
    return sorted(_REGISTRY)


def get(key: str):
    """The model class registered under `key`."""
    try:
        return _REGISTRY[key]
    except KeyError:
        raise KeyError(f"unknown model {key!r}; known models: {', '.join(names())}") from None


__all__ = [
    "AutoIntPlus",
    "CTRModel",
    "DCN",
    "DCNv2",
    "DLRM",
    "DNN",
    "DeepFM",
    "FM",
    "FinalMLP",
    "FirstOrderTerm",
    "IPNN",
    "NFwFM",
    "XDeepFM",
    "get",
    "names",
]
