"""Recognition models: a plain dict from config name to builder (no registry magic).

The networks only: ``lbptop_svm`` and ``flow_svm`` are linear SVMs
(:data:`mexp_lib.recognition.kinds.SVM_MODELS`, fitted by :mod:`mexp_lib.recognition.svm`),
and ``auto`` chooses among candidate models per fold; every name and what it reads is in
:data:`mexp_lib.recognition.kinds.INPUT_KINDS`, the registry of model names: the networks there
are the keys of :data:`BUILDERS` (tests/test_registries.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch.nn as nn

from mexp_lib.models.aufusion import create_aufusion
from mexp_lib.models.elrcn import create_elrcn
from mexp_lib.models.htnet import create_htnet
from mexp_lib.models.offapexnet import create_offapexnet
from mexp_lib.models.spatiotemporal import C3D, CNNLSTM, ConvLSTMNet, FrameVoteCNN
from mexp_lib.models.ststnet import create_ststnet


def _no_size(cls: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Builder for a model whose layers do not depend on the input size."""
    return lambda *, num_classes, size=None, **kw: cls(num_classes=num_classes, **kw)


BUILDERS: dict[str, Callable[..., nn.Module]] = {
    "ststnet": create_ststnet,
    "offapexnet": create_offapexnet,
    "c3d": _no_size(C3D),
    "cnn_lstm": CNNLSTM,
    "convlstm": _no_size(ConvLSTMNet),
    "cnn2d_vote": FrameVoteCNN,
    "elrcn_se": create_elrcn("se"),
    "elrcn_te": create_elrcn("te"),
    "aufusion": create_aufusion,
    "htnet": create_htnet,
}


def build_model(name: str, *, num_classes: int, **kwargs: Any) -> nn.Module:
    """Build model ``name`` for ``num_classes`` classes; ``kwargs`` are ``size`` and the
    model's own options (``training.options`` in the config)."""
    from mexp_lib.errors import ConfigError
    from mexp_lib.recognition.kinds import SVM_MODELS

    if name in SVM_MODELS:
        raise ConfigError(f"training.model {name!r} is a linear SVM (mexp_lib.recognition.svm), not a network")
    if name not in BUILDERS:
        raise ConfigError(f"training.model: unknown model {name!r} (available: {sorted(BUILDERS)})")
    try:
        return BUILDERS[name](num_classes=num_classes, **kwargs)
    except TypeError as e:
        if "unexpected keyword argument" not in str(e):
            raise
        raise ConfigError(f"training.options for model {name!r}: {e}") from e  # an option the model does not take
