"""Learned motion networks that run only with weights the user gives (nothing downloads):

* :class:`IFNet` -- RIFE's intermediate-flow network (Huang et al., ECCV 2022), in the layout of
  the RIFE v4.0 release (``flownet.pkl``: four IFBlocks of width 192, 128, 96, 64 at scales 8, 4,
  2, 1; each block predicts a residual of the two flows from the target time to the frames and
  of the fusion mask). Used by ``interpolation.method: rife``.
* :class:`MagNet` -- the learning-based motion magnification network (Oh et al., ECCV 2018):
  an encoder splits a frame into texture and shape representations, a manipulator amplifies the
  shape difference between two frames by ``alpha``, a decoder renders the result. Used by
  ``magnification.method: magnet`` (static mode: each frame against the clip's first frame).

:func:`load_weights` accepts a state dict (or a checkpoint with ``state_dict`` / ``model``
inside), strips a ``module.`` prefix (DataParallel) and stops with a message naming the file
when it is missing, unreadable or its keys or shapes do not match the network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from mexp_lib.errors import ConfigError

ModuleT = TypeVar("ModuleT", bound=nn.Module)


def load_weights(net: ModuleT, path: str | Path | None, *, what: str, key: str) -> ModuleT:
    """Load user-given weights into ``net`` (eval mode); ``key`` is the config key to name."""
    if not path:
        raise ConfigError(f"{what} needs pretrained weights: set {key} to the weights file (nothing is downloaded)")
    p = Path(path).expanduser()
    if not p.is_file():
        raise ConfigError(f"{what}: weights file {p} ({key}) not found")
    try:
        state: Any = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - truncated, pickled objects, not a torch file
        raise ConfigError(f"{what}: cannot read {p} as torch weights ({type(e).__name__}: {e})") from e
    for inner in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(inner), dict):
            state = state[inner]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError(f"{what}: {p} is not a state dict of tensors")
    state = {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}
    own = net.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise ConfigError(f"{what}: {p} does not match the network: {len(missing)} missing key(s) (e.g. {missing[:3]}), "
                          f"{len(unexpected)} unexpected (e.g. {unexpected[:3]})")
    wrong = [k for k in own if own[k].shape != state[k].shape]
    if wrong:
        raise ConfigError(f"{what}: {p}: shape of {wrong[0]} is {tuple(state[wrong[0]].shape)}, the network has {tuple(own[wrong[0]].shape)}")
    net.load_state_dict(state)
    return net.eval()


def backward_warp(img: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample ``img`` (N, C, H, W) at ``x + flow`` (flow (N, 2, H, W) in pixels), bilinear, border."""
    n, _, h, w = img.shape
    yy, xx = torch.meshgrid(torch.arange(h, dtype=img.dtype), torch.arange(w, dtype=img.dtype), indexing="ij")
    gx = (xx + flow[:, 0]) * 2 / max(w - 1, 1) - 1
    gy = (yy + flow[:, 1]) * 2 / max(h - 1, 1) - 1
    return F.grid_sample(img, torch.stack([gx, gy], -1), mode="bilinear", padding_mode="border", align_corners=True)


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), nn.PReLU(cout))


class IFBlock(nn.Module):
    """One RIFE block: at 1/scale resolution, features of the inputs (and the current flows)
    -> residual flows (4 channels: target->frame 0, target->frame 1) and mask (1 channel)."""

    def __init__(self, in_planes: int, c: int) -> None:
        super().__init__()
        self.conv0 = nn.Sequential(_conv(in_planes, c // 2, 2), _conv(c // 2, c, 2))
        self.convblock = nn.Sequential(*[_conv(c, c) for _ in range(8)])
        self.lastconv = nn.ConvTranspose2d(c, 5, 4, 2, 1)

    def forward(self, x: torch.Tensor, flow: torch.Tensor | None, scale: float) -> tuple[torch.Tensor, torch.Tensor]:
        if scale != 1:
            x = F.interpolate(x, scale_factor=1.0 / scale, mode="bilinear", align_corners=False)
        if flow is not None:
            x = torch.cat([x, F.interpolate(flow, scale_factor=1.0 / scale, mode="bilinear", align_corners=False) / scale], 1)
        x = self.conv0(x)
        x = self.convblock(x) + x
        out = F.interpolate(self.lastconv(x), scale_factor=scale * 2, mode="bilinear", align_corners=False)
        return out[:, :4] * scale * 2, out[:, 4:5]


class IFNet(nn.Module):
    """RIFE v4.0 IFNet: (img0, img1 in [0, 1], (N, 3, H, W), H and W multiples of 32, time t) ->
    the frame at t."""

    SCALES = (8, 4, 2, 1)

    def __init__(self) -> None:
        super().__init__()
        self.block0 = IFBlock(7, 192)
        self.block1 = IFBlock(8 + 4, 128)
        self.block2 = IFBlock(8 + 4, 96)
        self.block3 = IFBlock(8 + 4, 64)

    def forward(self, img0: torch.Tensor, img1: torch.Tensor, t: float) -> torch.Tensor:
        ts = torch.full_like(img0[:, :1], float(t))
        flow, mask = self.block0(torch.cat([img0, img1, ts], 1), None, self.SCALES[0])
        w0, w1 = backward_warp(img0, flow[:, :2]), backward_warp(img1, flow[:, 2:4])
        for block, scale in zip((self.block1, self.block2, self.block3), self.SCALES[1:], strict=True):
            df, dm = block(torch.cat([w0, w1, ts, mask], 1), flow, scale)
            flow, mask = flow + df, mask + dm
            w0, w1 = backward_warp(img0, flow[:, :2]), backward_warp(img1, flow[:, 2:4])
        m = torch.sigmoid(mask)
        return w0 * m + w1 * (1 - m)


def _rgb_batch(frames: np.ndarray, lo: float, hi: float, multiple: int) -> torch.Tensor:
    """Grey frames (T, H, W) in 0..255 as a (T, 3, H', W') tensor scaled to ``lo``..``hi``, the
    grey replicated to 3 channels, padded (replicate) to multiples of ``multiple``."""
    h, w = frames.shape[1:]
    x = torch.tensor(frames, dtype=torch.float32)[:, None].repeat(1, 3, 1, 1) * ((hi - lo) / 255.0) + lo
    return F.pad(x, (0, (-w) % multiple, 0, (-h) % multiple), mode="replicate")


def _grey(y: torch.Tensor, h: int, w: int, lo: float, hi: float) -> np.ndarray:
    """The first image of a (N, 3, H', W') batch in ``lo``..``hi``, cropped to h x w, as one grey
    float32 image in 0..255 (the mean of the channels)."""
    return ((y[0, :, :h, :w].mean(0) - lo) * (255.0 / (hi - lo))).numpy().astype(np.float32)


def rife_interpolate(net: IFNet, frames: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Grey frames (T, H, W) in 0..255 resampled at fractional ``times`` with RIFE (frames are
    replicated to 3 channels and padded to a multiple of 32) -> (len(times), H, W) float32."""
    t_n, h, w = frames.shape
    x = _rgb_batch(frames, 0.0, 1.0, 32)
    out = np.empty((len(times), h, w), np.float32)
    with torch.no_grad():
        for j, tt in enumerate(times):
            a = min(int(np.floor(tt)), t_n - 1)
            frac = float(tt - a)
            if frac < 1e-6 or a == t_n - 1:
                out[j] = frames[a]
                continue
            out[j] = _grey(net(x[a: a + 1], x[a + 1: a + 2], frac), h, w, 0.0, 1.0)
    return out


class _Res(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), nn.ReLU(inplace=True), nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _cr(cin: int, cout: int, k: int = 3, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.ReflectionPad2d(k // 2), nn.Conv2d(cin, cout, k, stride), nn.ReLU(inplace=True))


class MagNet(nn.Module):
    """Oh et al. 2018: encoder (texture at 1/4, shape at 1/2 resolution), manipulator
    ``M_a + h((alpha - 1) g(M_b - M_a))``, decoder. Frames (N, 3, H, W) in [-1, 1], H and W
    multiples of 4."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(_cr(3, 16, 7), _cr(16, 32, 3, 2), _Res(32), _Res(32), _Res(32))
        self.texture = nn.Sequential(_cr(32, 32, 3, 2), _Res(32), _Res(32))
        self.shape = nn.Sequential(_cr(32, 32), _Res(32), _Res(32))
        self.g = _cr(32, 32)
        self.h = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(32, 32, 3), _Res(32))
        self.decoder = nn.Sequential(_cr(64, 64), *[_Res(64) for _ in range(9)], nn.Upsample(scale_factor=2, mode="nearest"),
                                     _cr(64, 32), nn.ReflectionPad2d(3), nn.Conv2d(32, 3, 7))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.encoder(x)
        return self.texture(f), self.shape(f)

    def forward(self, xa: torch.Tensor, xb: torch.Tensor, alpha: float) -> torch.Tensor:
        return self.magnify_from(self.encode(xa)[1], xb, alpha)

    def magnify_from(self, sa: torch.Tensor, xb: torch.Tensor, alpha: float) -> torch.Tensor:
        """Frame ``xb`` with its motion from the reference (whose shape representation is ``sa``)
        amplified by ``alpha``."""
        tb, sb = self.encode(xb)
        s = sa + self.h((alpha - 1.0) * self.g(sb - sa))
        return self.decoder(torch.cat([F.interpolate(tb, scale_factor=2, mode="nearest"), s], 1))


def magnet_magnify(net: MagNet, frames: np.ndarray, alpha: float) -> np.ndarray:
    """Grey frames (T, H, W) in 0..255 magnified by MagNet against the first frame (static
    mode) -> (T, H, W) float32."""
    t_n, h, w = frames.shape
    x = _rgb_batch(frames, -1.0, 1.0, 4)
    out = np.empty((t_n, h, w), np.float32)
    with torch.no_grad():
        reference = net.encode(x[:1])[1]  # the first frame's shape, encoded once
        for i in range(t_n):
            out[i] = _grey(net.magnify_from(reference, x[i: i + 1], alpha), h, w, -1.0, 1.0)
    return out
