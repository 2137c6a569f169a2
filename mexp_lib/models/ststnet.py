"""STSTNet: Shallow Triple-Stream Three-dimensional CNN (Liong et al., FG 2019 / MEGC 2019).

Input: (N, 3, 28, 28) = optical flow u, v and optical strain between onset and apex. Three
parallel 3x3 convolutions with 3, 5 and 8 filters (ReLU, batch norm, 3x3 max pooling with stride
3), concatenated to 16 channels, 2x2 average pooling, and one fully connected layer.
"""

from __future__ import annotations

import torch
import torch.nn as nn


class STSTNet(nn.Module):
    def __init__(self, *, in_channels: int = 3, num_classes: int = 3, dropout: float = 0.5, width: int = 1) -> None:
        super().__init__()
        channels = tuple(width * c for c in (3, 5, 8))
        self.streams = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(in_channels, c, kernel_size=3, padding=2),
                nn.ReLU(inplace=True),
                nn.BatchNorm2d(c),
                nn.MaxPool2d(kernel_size=3, stride=3, padding=1),
                nn.Dropout(dropout),
            )
            for c in channels
        )
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)
        self.fc = nn.Linear(sum(channels) * 5 * 5, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C, 28, 28) -> logits (N, num_classes)."""
        y = torch.cat([s(x) for s in self.streams], dim=1)
        return self.fc(torch.flatten(self.pool(y), 1))


def create_ststnet(*, num_classes: int, in_channels: int = 3, dropout: float = 0.5, size: int = 28, width: int = 1) -> STSTNet:
    """Build STSTNet for 28x28 inputs; ``width`` multiplies the streams' 3, 5 and 8 filters (1 = the paper's network)."""
    if size != 28:
        from mexp_lib.errors import ConfigError

        raise ConfigError(f"training.input_size: STSTNet takes 28x28 inputs, not {size}")
    return STSTNet(in_channels=in_channels, num_classes=num_classes, dropout=dropout, width=width)
