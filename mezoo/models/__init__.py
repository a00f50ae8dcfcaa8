"""The zoo: `mezoo.models.get(key)(fields, num_embedding_sets=1, embedding_dim=10, **hparams)`.

Implemented so far: `dnn`, `ipnn`, `nfwfm`, `xdeepfm`, `dcnv2`. The other registry keys of
DESIGN.md (`finalmlp`, `dcn`, `deepfm`, `autoint_plus`, `dlrm`, `fm`) are still to come
(issue 3); `get` names what exists.
"""

from mezoo.models.ctr_model import CTRModel
from mezoo.models.dcnv2 import DCNv2
from mezoo.models.dnn import DNN
from mezoo.models.ipnn import IPNN
from mezoo.models.nfwfm import NFwFM
from mezoo.models.xdeepfm import XDeepFM

_REGISTRY = {"dnn": DNN, "ipnn": IPNN, "nfwfm": NFwFM, "xdeepfm": XDeepFM, "dcnv2": DCNv2}


def names():
    """Registry keys of the implemented models, sorted."""
    return sorted(_REGISTRY)


def get(key: str):
    """The model class registered under `key`."""
    try:
        return _REGISTRY[key]
    except KeyError:
        raise KeyError(f"unknown model {key!r}; known models: {', '.join(names())}") from None


__all__ = ["CTRModel", "DCNv2", "DNN", "IPNN", "NFwFM", "XDeepFM", "get", "names"]
