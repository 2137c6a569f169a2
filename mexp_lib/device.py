"""The compute device of the jobs that run networks (kept free of a module-level torch import,
so that face and motion jobs that do not run a network never import torch)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def select_device(preference: str = "auto") -> torch.device:
    """``auto``: CUDA when available, else CPU; otherwise the named device (``cpu``, ``cuda:1``)."""
    import torch

    if preference == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(preference)
