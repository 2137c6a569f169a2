"""Spatio-temporal CNNs on a clip's flow sequence (the seed systems' "3D-CNN, CNN+LSTM, ConvLSTM
and 2D-CNN with majority voting" family; e.g. Reddy et al. 2019 (MicroExpSTCNN), Khor et al.
2018 (ELRCN's CNN->LSTM design), Shi et al. 2015 (ConvLSTM)).

Every model takes ``x`` of shape (N, T, C, H, W): T frames of onset-referenced flow u, v and
strain (C = 3), H = W = ``size``, and returns logits (N, classes) -- except
:class:`FrameVoteCNN`, which returns per-frame logits (N, T, classes); the trainer fits every
frame to its clip's label and predicts a clip by majority vote (:func:`predict_labels`).
"""

from __future__ import annotations

import torch
import torch.nn as nn


def _frame_cnn(in_channels: int, width: int) -> nn.Sequential:
    """Two 3x3 conv blocks with 2x2 pooling: (B, C, s, s) -> (B, 2*width, s/4, s/4)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(inplace=True), nn.MaxPool2d(2),
    )


class C3D(nn.Module):
    """3D-CNN: two 3x3x3 convolution blocks over (time, height, width), global pooling, FC."""

    def __init__(self, *, num_classes: int, in_channels: int = 3, width: int = 16, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv3d(in_channels, width, 3, padding=1), nn.BatchNorm3d(width), nn.ReLU(inplace=True), nn.MaxPool3d((1, 2, 2)),
            nn.Conv3d(width, 2 * width, 3, padding=1), nn.BatchNorm3d(2 * width), nn.ReLU(inplace=True), nn.MaxPool3d(2, ceil_mode=True),
            nn.AdaptiveAvgPool3d(1),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(2 * width, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x.transpose(1, 2)))  # (N, C, T, H, W)


class CNNLSTM(nn.Module):
    """Time-distributed 2D CNN per frame, an LSTM over the frame features, FC on its last state."""

    def __init__(self, *, num_classes: int, size: int, in_channels: int = 3, width: int = 16, hidden: int = 64, dropout: float = 0.5) -> None:
        super().__init__()
        self.cnn = _frame_cnn(in_channels, width)
        self.proj = nn.Linear(2 * width * (size // 4) ** 2, 128)
        self.lstm = nn.LSTM(128, hidden, batch_first=True)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t = x.shape[:2]
        f = torch.relu(self.proj(self.cnn(x.flatten(0, 1)).flatten(1))).view(n, t, -1)
        _, (h, _) = self.lstm(f)
        return self.head(h[-1])


class ConvLSTMCell(nn.Module):
    """One ConvLSTM cell (Shi et al. 2015): the LSTM gates are 3x3 convolutions."""

    def __init__(self, in_channels: int, hidden: int) -> None:
        super().__init__()
        self.hidden = hidden
        self.gates = nn.Conv2d(in_channels + hidden, 4 * hidden, 3, padding=1)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        h, c = state
        i, f, o, g = self.gates(torch.cat([x, h], 1)).chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c


class ConvLSTMNet(nn.Module):
    """A conv block per frame (at 1/2 resolution), a ConvLSTM over time, pooled last state, FC."""

    def __init__(self, *, num_classes: int, in_channels: int = 3, width: int = 16, hidden: int = 16, dropout: float = 0.5) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(inplace=True), nn.MaxPool2d(2))
        self.cell = ConvLSTMCell(width, hidden)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(hidden, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t = x.shape[:2]
        f = self.stem(x.flatten(0, 1)).view(n, t, -1, *((x.shape[-1] // 2),) * 2)
        h = torch.zeros(n, self.cell.hidden, *f.shape[-2:], device=x.device, dtype=x.dtype)
        c = torch.zeros_like(h)
        for k in range(t):
            h, c = self.cell(f[:, k], (h, c))
        return self.head(h)


class FrameVoteCNN(nn.Module):
    """A 2D CNN that classifies every frame on its own; clips are decided by majority vote."""

    def __init__(self, *, num_classes: int, size: int, in_channels: int = 3, width: int = 16, dropout: float = 0.5) -> None:
        super().__init__()
        self.cnn = _frame_cnn(in_channels, width)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(2 * width * (size // 4) ** 2, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t = x.shape[:2]
        return self.head(self.cnn(x.flatten(0, 1))).view(n, t, -1)


def predict_labels(logits: torch.Tensor) -> torch.Tensor:
    """Class per clip: argmax of (N, classes) logits, or the majority vote of per-frame logits
    (N, T, classes), ties broken by the summed frame probabilities."""
    if logits.ndim == 2:
        return logits.argmax(1)
    votes = torch.nn.functional.one_hot(logits.argmax(-1), logits.shape[-1]).sum(1).float()
    return (votes + 1e-3 * logits.softmax(-1).mean(1)).argmax(1)
