"""AU-fusion network: facial regions (ROIs) -> transformer -> region graph, with an auxiliary
action-unit (AU) detection branch trained jointly and fused into the emotion decision.

The design follows the seed system's "AU-detection fusion" method: micro-expressions are local,
so the onset -> apex motion (flow u, v and strain, (N, 3, s, s)) is read in facial regions; a
transformer lets every region attend to every other one; a graph convolution over the
anatomical neighbourhood of the regions (brows - eyes - cheeks - mouth ...) propagates motion
between adjacent muscles; an AU head predicts the sample's AUs (multi-label), and its
probabilities are concatenated with the pooled region features for the emotion head. The loss
is cross-entropy + ``au_weight`` x masked binary cross-entropy (samples whose sheet gives no
AUs, such as SMIC's, contribute no AU term).

Regions are fixed boxes on the aligned face: mexp's crops put every face on one template
(:mod:`mexp_lib.face.align`), so a region is the same rectangle in every sample; boxes are given
in units of the template face box and placed with the crop ``margin`` (default 0.1, as the
face stage). Each region is average-pooled to ``patch`` x ``patch`` and encoded by a small CNN
shared by all regions, plus a learned region embedding.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# (x0, x1, y0, y1) in units of the template face box (x to the right of the image, y down).
REGIONS: dict[str, tuple[float, float, float, float]] = {
    "brow_a": (0.12, 0.48, 0.10, 0.32), "brow_b": (0.52, 0.88, 0.10, 0.32), "glabella": (0.38, 0.62, 0.16, 0.42),
    "eye_a": (0.15, 0.47, 0.24, 0.42), "eye_b": (0.53, 0.85, 0.24, 0.42), "nose": (0.36, 0.64, 0.38, 0.60),
    "cheek_a": (0.08, 0.38, 0.42, 0.68), "cheek_b": (0.62, 0.92, 0.42, 0.68), "mouth": (0.28, 0.72, 0.58, 0.84),
    "chin": (0.32, 0.68, 0.78, 0.98),
}
EDGES = [
    ("brow_a", "glabella"), ("brow_b", "glabella"), ("brow_a", "eye_a"), ("brow_b", "eye_b"), ("eye_a", "glabella"),
    ("eye_b", "glabella"), ("glabella", "nose"), ("eye_a", "cheek_a"), ("eye_b", "cheek_b"), ("nose", "cheek_a"),
    ("nose", "cheek_b"), ("nose", "mouth"), ("cheek_a", "mouth"), ("cheek_b", "mouth"), ("mouth", "chin"),
]
# The AUs most often coded in CASME II, SAMM and CAS(ME)^3 micro-expressions.
DEFAULT_AUS = [1, 2, 4, 6, 7, 9, 10, 12, 14, 15, 17, 25, 26]


def parse_aus(text: str) -> list[int]:
    """AU numbers of a sheet's AU cell: ``"4+L10"``, ``"AU1+AU2"``, ``"R12B+14"`` -> [4, 10] ...
    Side (L/R/A/B prefixes) and intensity (A-E suffixes) are dropped."""
    return sorted({int(n) for n in re.findall(r"\d+", str(text))})


def au_targets(cells: Iterable[str], aus: list[int]) -> np.ndarray:
    """(N, len(aus)) float32 multi-hot AU targets; a row is NaN where the cell names no AU
    (unknown, masked out of the loss)."""
    index = {a: i for i, a in enumerate(aus)}
    rows = []
    for cell in cells:
        found = parse_aus(cell)
        row = np.full(len(aus), np.nan, np.float32) if not found else np.zeros(len(aus), np.float32)
        for a in found:
            if a in index:
                row[index[a]] = 1.0
        rows.append(row)
    return np.stack(rows) if rows else np.zeros((0, len(aus)), np.float32)


def _normalised_adjacency(names: list[str]) -> torch.Tensor:
    """D^-1/2 (A + I) D^-1/2 of the region graph (Kipf and Welling 2017)."""
    idx = {n: i for i, n in enumerate(names)}
    a = torch.eye(len(names))
    for u, v in EDGES:
        a[idx[u], idx[v]] = a[idx[v], idx[u]] = 1.0
    d = a.sum(1).rsqrt()
    return d[:, None] * a * d[None, :]


class AUFusionNet(nn.Module):
    """ROI encoder -> transformer over regions -> graph convolution -> AU head + emotion head."""

    def __init__(self, *, num_classes: int, size: int, in_channels: int = 3, aus: list[int] | None = None, dim: int = 32, heads: int = 4,
                 layers: int = 1, patch: int = 6, margin: float = 0.1, dropout: float = 0.3, au_weight: float = 0.5) -> None:
        super().__init__()
        self.aus = list(DEFAULT_AUS if aus is None else aus)
        self.au_weight = float(au_weight)
        self.patch = patch
        names = list(REGIONS)
        boxes = []
        for x0, x1, y0, y1 in REGIONS.values():
            c0, c1 = (margin + x0 * (1 - 2 * margin)) * size, (margin + x1 * (1 - 2 * margin)) * size
            r0, r1 = (margin + y0 * (1 - 2 * margin)) * size, (margin + y1 * (1 - 2 * margin)) * size
            boxes.append((int(np.floor(r0)), max(int(np.ceil(r1)), int(np.floor(r0)) + 1), int(np.floor(c0)), max(int(np.ceil(c1)), int(np.floor(c0)) + 1)))
        self.boxes = boxes
        self.encoder = nn.Sequential(
            nn.Conv2d(in_channels, dim // 2, 3, padding=1), nn.BatchNorm2d(dim // 2), nn.ReLU(inplace=True),
            nn.Conv2d(dim // 2, dim, 3, padding=1), nn.BatchNorm2d(dim), nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.region_embedding = nn.Parameter(torch.zeros(len(names), dim))
        nn.init.normal_(self.region_embedding, std=0.02)
        block = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=2 * dim, dropout=dropout, batch_first=True, norm_first=True)
        self.transformer = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.register_buffer("adjacency", _normalised_adjacency(names))
        self.gcn = nn.Linear(dim, dim)
        self.au_head = nn.Sequential(nn.Dropout(dropout), nn.Linear(len(names) * dim, len(self.aus)))
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(dim + len(self.aus), num_classes))

    def regions(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, s, s) -> (N, R, C, patch, patch) region crops."""
        return torch.stack([F.adaptive_avg_pool2d(x[:, :, r0:r1, c0:c1], self.patch) for r0, r1, c0, c1 in self.boxes], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """x: (N, 3, s, s) -> emotion logits (N, classes); in training mode also AU logits (N, A)."""
        r = self.regions(x)
        n, k = r.shape[:2]
        tokens = self.encoder(r.flatten(0, 1)).view(n, k, -1) + self.region_embedding
        tokens = self.transformer(tokens)
        nodes = tokens + torch.relu(self.gcn(self.adjacency @ tokens))  # residual graph convolution
        au_logits = self.au_head(nodes.flatten(1))
        logits = self.head(torch.cat([nodes.mean(1), torch.sigmoid(au_logits)], 1))
        return (logits, au_logits) if self.training else logits

    def auxiliary_loss(self, au_logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """``au_weight`` x binary cross-entropy over the samples whose AUs are known (non-NaN)."""
        known = ~torch.isnan(targets[:, 0])
        if not bool(known.any()):
            return au_logits.sum() * 0.0
        return self.au_weight * F.binary_cross_entropy_with_logits(au_logits[known], targets[known])


def create_aufusion(*, num_classes: int, size: int, **options: object) -> AUFusionNet:
    """Build the AU-fusion network for ``size`` x ``size`` inputs (``size`` >= 28)."""
    if size < 28:
        from mexp_lib.errors import ConfigError

        raise ConfigError(f"training.input_size: the AU-fusion network needs >= 28 px to place its regions, not {size}")
    return AUFusionNet(num_classes=num_classes, size=size, **options)  # type: ignore[arg-type]
