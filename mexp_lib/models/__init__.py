"""Recognition models: a plain dict from config name to builder (no registry magic)."""

from __future__ import annotations

from typing import Any, Callable

import torch.nn as nn

from mexp_lib.models.ststnet import create_ststnet

BUILDERS: dict[str, Callable[..., nn.Module]] = {"ststnet": create_ststnet}


def build_model(name: str, *, num_classes: int, **kwargs: Any) -> nn.Module:
    """Build model ``name`` for ``num_classes`` classes."""
    from mexp_lib.errors import ConfigError

    if name not in BUILDERS:
        raise ConfigError(f"training.model: unknown model {name!r} (available: {sorted(BUILDERS)})")
    return BUILDERS[name](num_classes=num_classes, **kwargs)
