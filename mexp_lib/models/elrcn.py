"""ELRCN: Enriched Long-term Recurrent Convolutional Network (Khor, See, Phan and Lin, FG 2018).

Every frame of a clip is encoded by a VGG-16 spatial module; an LSTM temporal module reads the
sequence of frame features and classifies the clip. Input: (N, T, 4, H, W) with the channels
u, v (optical flow, onset -> frame), optical strain and the grey frame. Two variants:

* ``elrcn_se`` -- *spatial enrichment*: the four channels stacked into one VGG-16 (its first
  convolution takes 4 channels);
* ``elrcn_te`` -- *temporal enrichment*: three VGG-16 streams, one per modality (flow u, v;
  strain; grey), whose frame features are concatenated before the LSTM.

Pretrained weights (the paper uses VGG-Face) load from a path the user gives
(``training.options.weights``): a ``state_dict`` of torchvision's ``vgg16`` (``features.0.weight``
...) or of the VGG-Face conversion (``conv1_1.weight`` ... ``conv5_3.bias``). Only the 13
convolutions are taken; a first convolution whose channel count differs from the stream's is
adapted by averaging its RGB filters (scaled by 3 / C and repeated over C channels), the usual
transfer to non-RGB inputs. Without weights the network trains from scratch; ``width`` < 1
scales every layer's channels (a CPU-sized VGG-16: 0.125 gives 8..64 channels) and batch
normalisation is added after each convolution so that 13 layers train without pretraining.

Simplifications, documented: the VGG classifier (fc6/fc7) is replaced by global average pooling
and one linear projection, so that inputs smaller than 224 px work (pooling uses ``ceil_mode``:
a 28 px input reaches 1 x 1 after the five pools).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn as nn

from mexp_lib.errors import ConfigError

VGG16_LAYERS: list[int | str] = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
# The 13 convolutions' names in the two weight files mexp reads.
TORCHVISION_CONVS = [f"features.{i}" for i in (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28)]
VGGFACE_CONVS = [f"conv{b}_{i}" for b, n in ((1, 2), (2, 2), (3, 3), (4, 3), (5, 3)) for i in range(1, n + 1)]
# Channel groups of the input per stream, for temporal enrichment.
TE_STREAMS = {"flow": (0, 1), "strain": (2,), "grey": (3,)}


class VGG16Features(nn.Module):
    """The 13 convolutions and 5 max-pools of VGG-16 (configuration D), ``width`` x the channels,
    followed by global average pooling: (B, C, H, W) -> (B, 512 * width)."""

    def __init__(self, in_channels: int, *, width: float = 1.0, batch_norm: bool = False) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        self.convs: list[nn.Conv2d] = []
        c = in_channels
        for v in VGG16_LAYERS:
            if v == "M":
                layers.append(nn.MaxPool2d(2, 2, ceil_mode=True))
                continue
            out = max(1, int(round(int(v) * width)))
            conv = nn.Conv2d(c, out, 3, padding=1)
            self.convs.append(conv)
            layers += [conv, nn.BatchNorm2d(out), nn.ReLU(inplace=True)] if batch_norm else [conv, nn.ReLU(inplace=True)]
            c = out
        self.body = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.out_features = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.body(x)).flatten(1)


def _conv_tensors(state: dict[str, torch.Tensor], path: Path) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The 13 (weight, bias) pairs of a VGG-16 state dict, in order, under either naming."""
    for names in (TORCHVISION_CONVS, VGGFACE_CONVS):
        if all(f"{n}.weight" in state and f"{n}.bias" in state for n in names):
            return [(state[f"{n}.weight"], state[f"{n}.bias"]) for n in names]
    keys = ", ".join(list(state)[:6])
    raise ConfigError(
        f"{path}: not a VGG-16 state dict: expected the keys features.0.weight ... features.28.bias (torchvision vgg16) "
        f"or conv1_1.weight ... conv5_3.bias (VGG-Face); the file has {len(state)} keys, starting {keys}"
    )


def load_vgg16_weights(module: VGG16Features, path: str | Path) -> None:
    """Copy pretrained VGG-16 convolutions into ``module`` (which must have ``width`` 1).

    Raises :class:`ConfigError` naming the file when it is missing, is not a state dict, lacks
    the VGG-16 keys, or holds tensors of other shapes.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(
            f"training.options.weights: {p} not found. Give the path of a VGG-16 or VGG-Face state dict "
            "(torchvision's vgg16-397923af.pth, or a VGG-Face conversion such as vgg_face_dag.pth) -- mexp downloads nothing -- "
            "or remove the key to train from scratch"
        )
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad weight file
        raise ConfigError(f"{p}: cannot read as a torch state dict ({type(e).__name__}: {e})") from e
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ConfigError(f"{p}: holds a {type(state).__name__}, not a state dict")
    pairs = _conv_tensors(state, p)
    with torch.no_grad():
        for k, (conv, (w, b)) in enumerate(zip(module.convs, pairs, strict=False)):
            w = w.float()
            if k == 0 and w.shape[1] != conv.in_channels:
                w = w.mean(1, keepdim=True).repeat(1, conv.in_channels, 1, 1) * (w.shape[1] / conv.in_channels)
            if conv.bias is None:
                raise ConfigError(f"{p}: convolution {k + 1} of 13 of the network has no bias to load")
            if w.shape != conv.weight.shape or b.shape != conv.bias.shape:
                raise ConfigError(f"{p}: convolution {k + 1} of 13 has shape {tuple(w.shape)}, the network needs {tuple(conv.weight.shape)} (pretrained weights need options.width: 1)")
            conv.weight.copy_(w)
            conv.bias.copy_(b.float())


class ELRCN(nn.Module):
    """VGG-16 stream(s) per frame -> linear projection -> LSTM -> classes.

    ``variant``: ``se`` (one 4-channel stream) or ``te`` (flow, strain and grey streams).
    """

    def __init__(self, *, num_classes: int, variant: str = "se", width: float = 0.125, feature_dim: int = 128, hidden: int = 128,
                 dropout: float = 0.5, weights: str | None = None, batch_norm: bool | None = None) -> None:
        super().__init__()
        if variant not in ("se", "te"):
            raise ConfigError(f"ELRCN variant must be 'se' or 'te', not {variant!r}")
        if weights is not None and width != 1:
            raise ConfigError(f"training.options: pretrained VGG-16 weights ({weights}) need width: 1, not {width}")
        bn = weights is None if batch_norm is None else batch_norm
        groups = {"all": (0, 1, 2, 3)} if variant == "se" else TE_STREAMS
        self.groups = {k: list(v) for k, v in groups.items()}
        streams = {k: VGG16Features(len(v), width=width, batch_norm=bn) for k, v in groups.items()}
        self.streams = nn.ModuleDict(streams)
        if weights is not None:
            for s in streams.values():
                load_vgg16_weights(s, weights)
        total = sum(s.out_features for s in streams.values())
        self.proj = nn.Sequential(nn.Linear(total, feature_dim), nn.ReLU(inplace=True), nn.Dropout(dropout))
        self.lstm = nn.LSTM(feature_dim, hidden, batch_first=True)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, T, 4, H, W) -> logits (N, num_classes)."""
        n, t = x.shape[:2]
        frames = x.flatten(0, 1)
        feats = torch.cat([s(frames[:, self.groups[k]]) for k, s in self.streams.items()], 1)
        _, (h, _) = self.lstm(self.proj(feats).view(n, t, -1))
        return self.head(h[-1])


def create_elrcn(variant: str) -> Callable[..., ELRCN]:
    """Builder for ``elrcn_se`` / ``elrcn_te`` (``size`` is not needed: pooling is global)."""

    def build(*, num_classes: int, size: int | None = None, **options: object) -> ELRCN:
        return ELRCN(num_classes=num_classes, variant=variant, **options)  # type: ignore[arg-type]

    return build
