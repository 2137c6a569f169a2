"""A small HTNet-style hierarchical transformer over facial regions.

After Wang, Zhifeng et al., "HTNet for micro-expression recognition" (Neurocomputing 2024):
local transformers look at facial regions separately, then an aggregation step merges them and
a transformer over the whole face relates the regions. Written for mexp from the paper's idea,
sized for a CPU (a few tens of thousands of weights, not HTNet's 256-wide, 14-block stack).

Input: (N, C, s, s) onset->apex u, v, strain of the aligned face (s divisible by 4). The face is
cut into ``regions`` x ``regions`` equal blocks (2 x 2: the left and right eye/brow areas above,
the left and right mouth-corner areas below on an aligned face), patches of ``patch`` px (the
image zero-padded by ``pad`` px, e.g. 28 px with patch 4, pad 2: an 8 x 8 token grid) are
embedded as tokens (dim ``dim``), and

1. level 1: ``depth`` transformer blocks attend only among the tokens of one region;
2. aggregation: a 3x3 convolution, layer norm and 3x3 max pooling with stride 2 over the token
   grid (NesT's block aggregation), halving each side;
3. level 2: ``depth`` transformer blocks over all remaining tokens (the regions meet);
4. mean over tokens, layer norm, linear head.
"""

from __future__ import annotations

import torch
import torch.nn as nn


class _Block(nn.Module):
    """Pre-norm transformer block: multi-head self-attention and a 2-layer MLP, both residual."""

    def __init__(self, dim: int, heads: int, mlp: int, dropout: float) -> None:
        super().__init__()
        self.n1, self.n2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp), nn.GELU(), nn.Dropout(dropout), nn.Linear(mlp, dim), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, L, dim) -> (B, L, dim)."""
        h = self.n1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.n2(x))


def _to_regions(x: torch.Tensor, r: int) -> torch.Tensor:
    """(N, D, H, W) token grid -> (N * r * r, H/r * W/r, D): the tokens of each region."""
    n, d, h, w = x.shape
    x = x.reshape(n, d, r, h // r, r, w // r).permute(0, 2, 4, 3, 5, 1)
    return x.reshape(n * r * r, (h // r) * (w // r), d)


def _from_regions(x: torch.Tensor, n: int, r: int, h: int, w: int) -> torch.Tensor:
    """Inverse of :func:`_to_regions`: (N * r * r, h/r * w/r, D) -> (N, D, h, w)."""
    d = x.shape[-1]
    x = x.reshape(n, r, r, h // r, w // r, d).permute(0, 5, 1, 3, 2, 4)
    return x.reshape(n, d, h, w)


class HTNetSmall(nn.Module):
    def __init__(self, *, in_channels: int = 3, num_classes: int = 3, size: int = 28, patch: int = 2, pad: int = 0, dim: int = 32,
                 heads: int = 2, depth: int = 1, regions: int = 2, mlp_ratio: int = 2, dropout: float = 0.1) -> None:
        super().__init__()
        from mexp_lib.errors import ConfigError

        grid = (size + 2 * pad - patch) // patch + 1
        if (size + 2 * pad) % patch or grid % regions or grid < 4:
            raise ConfigError(f"training.options: htnet needs input_size ({size}) + 2 pad ({pad}) divisible by patch ({patch}) "
                              f"and the token grid ({grid}) by regions ({regions})")
        if dim % heads:
            raise ConfigError(f"training.options: htnet dim ({dim}) must be divisible by heads ({heads})")
        self.regions, self.grid = regions, grid
        self.embed = nn.Conv2d(in_channels, dim, kernel_size=patch, stride=patch, padding=pad)
        self.pos1 = nn.Parameter(torch.zeros(1, dim, grid, grid))
        self.local = nn.Sequential(*[_Block(dim, heads, dim * mlp_ratio, dropout) for _ in range(depth)])
        self.aggregate = nn.Sequential(nn.Conv2d(dim, dim, 3, padding=1), nn.GroupNorm(1, dim), nn.MaxPool2d(3, stride=2, padding=1))
        g2 = (grid + 1) // 2
        self.pos2 = nn.Parameter(torch.zeros(1, g2 * g2, dim))
        self.face = nn.Sequential(*[_Block(dim, heads, dim * mlp_ratio, dropout) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)
        nn.init.trunc_normal_(self.pos1, std=0.02)
        nn.init.trunc_normal_(self.pos2, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C, s, s) -> logits (N, num_classes)."""
        n = x.shape[0]
        t = self.embed(x) + self.pos1  # (N, D, g, g)
        t = _from_regions(self.local(_to_regions(t, self.regions)), n, self.regions, self.grid, self.grid)
        t = self.aggregate(t).flatten(2).transpose(1, 2) + self.pos2  # (N, g2*g2, D)
        return self.head(self.norm(self.face(t).mean(1)))


def create_htnet(*, num_classes: int, size: int = 28, in_channels: int = 3, patch: int = 2, pad: int = 0, dim: int = 32, heads: int = 2,
                 depth: int = 1, regions: int = 2, mlp_ratio: int = 2, dropout: float = 0.1) -> HTNetSmall:
    """Build the HTNet-style model (see the module docstring for the options)."""
    return HTNetSmall(in_channels=in_channels, num_classes=num_classes, size=size, patch=patch, pad=pad, dim=dim, heads=heads, depth=depth,
                      regions=regions, mlp_ratio=mlp_ratio, dropout=dropout)
