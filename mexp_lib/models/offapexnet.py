"""OFF-ApexNet (Gan, Liong, Yau, Huang & Tan, Signal Processing: Image Communication 2019).

Input: onset->apex optical flow; the horizontal (u) and vertical (v) components go through two
separate streams, each two 5x5 convolutions (6 and 16 filters, ReLU, 2x2 max pooling), whose
features are concatenated and classified by two fully connected layers of 1024 units with
dropout. Here the input is (N, C, 28, 28) with u, v first (a strain channel, when present, is
ignored unless ``streams`` names it).
"""

from __future__ import annotations

import torch
import torch.nn as nn


class OFFApexNet(nn.Module):
    def __init__(self, *, num_classes: int = 3, streams: tuple[int, ...] = (0, 1), size: int = 28, hidden: int = 1024, dropout: float = 0.5) -> None:
        super().__init__()
        self.streams = tuple(streams)
        self.branches = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(2),
                nn.Conv2d(6, 16, kernel_size=5, padding=2), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            )
            for _ in self.streams
        )
        feat = 16 * (size // 4) ** 2 * len(self.streams)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(feat, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout), nn.Linear(hidden, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C, size, size) -> logits (N, num_classes)."""
        return self.head(torch.cat([b(x[:, c : c + 1]) for b, c in zip(self.branches, self.streams, strict=True)], dim=1))


def create_offapexnet(*, num_classes: int, size: int = 28, **kwargs: object) -> OFFApexNet:
    """Build OFF-ApexNet for ``size`` x ``size`` inputs."""
    return OFFApexNet(num_classes=num_classes, size=size, **kwargs)  # type: ignore[arg-type]
