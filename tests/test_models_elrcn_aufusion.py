"""ELRCN (VGG-16 + LSTM, spatial/temporal enrichment) and the AU-fusion network: shapes, a tiny
overfit through the fold trainer, pretrained-weight loading and its errors, AU targets."""

import numpy as np
import pytest
import torch

from mexp_lib.errors import ConfigError
from mexp_lib.models import build_model
from mexp_lib.models.aufusion import au_targets, parse_aus
from mexp_lib.models.elrcn import TORCHVISION_CONVS, VGGFACE_CONVS, VGG16Features, load_vgg16_weights
from mexp_lib.recognition.fit import _train_one


@pytest.mark.parametrize("name", ["elrcn_se", "elrcn_te"])
def test_elrcn_shapes(name):
    m = build_model(name, num_classes=5, size=28, width=0.125).eval()
    assert m(torch.zeros(2, 6, 4, 28, 28)).shape == (2, 5)
    assert len(m.streams) == (1 if name == "elrcn_se" else 3)
    convs = [c for c in m.modules() if isinstance(c, torch.nn.Conv2d)]
    assert len(convs) == 13 * len(m.streams), "VGG-16 has 13 convolutions per stream"


def test_aufusion_shapes_and_regions():
    m = build_model("aufusion", num_classes=3, size=28)
    x = torch.zeros(4, 3, 28, 28)
    logits, au = m(x)  # training mode: emotion and AU logits
    assert logits.shape == (4, 3) and au.shape == (4, 13)
    m.eval()
    assert m(x).shape == (4, 3)
    r = m.regions(torch.arange(28.0).view(1, 1, 1, 28).expand(1, 3, 28, 28))
    assert r.shape == (1, 10, 3, 6, 6)
    # region a (image left) lies left of region b: the mean column index is smaller
    names = list(__import__("mexp_lib.models.aufusion", fromlist=["REGIONS"]).REGIONS)
    assert r[0, names.index("eye_a")].mean() < r[0, names.index("eye_b")].mean()
    with pytest.raises(ConfigError, match="28 px"):
        build_model("aufusion", num_classes=3, size=16)


def _separable(shape, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape).astype(np.float32)
    y = np.arange(shape[0]) % 3
    x[:, ..., 0, :, :] += y.reshape((-1,) + (1,) * (x.ndim - 2)) * 1.0  # class-dependent mean u
    return x, y


@pytest.mark.parametrize("name,options", [("elrcn_se", {"width": 0.125, "dropout": 0.0}), ("elrcn_te", {"width": 0.125, "dropout": 0.0}),
                                          ("aufusion", {"dropout": 0.0})])
def test_models_overfit_a_tiny_set(name, options):
    x, y = _separable((9, 3, 4, 28, 28) if name.startswith("elrcn") else (9, 3, 28, 28))
    c = x.shape[-3]
    norm = (np.zeros(c, np.float32), np.ones(c, np.float32), 0.0)
    aux = au_targets(["1+2", "4+9", "12"] * 3, [1, 2, 4, 9, 12]) if name == "aufusion" else None
    cfg = {"model": name, "input_size": 28, "lr": 3e-3, "weight_decay": 0.0, "epochs": 60, "batch_size": 9, "flip": False, "options": options}
    m = _train_one(x, y, 3, cfg | ({"options": options | {"aus": [1, 2, 4, 9, 12]}} if aux is not None else {}), 0, torch.device("cpu"), norm, aux)
    with torch.no_grad():
        assert (m(torch.tensor(x)).argmax(1).numpy() == y).all(), name
        if aux is not None:  # the AU branch learned the AUs too
            _, au = m.train()(torch.tensor(x))
            assert ((torch.sigmoid(au) > 0.5).float().numpy() == aux).all()


def test_aufusion_needs_au_targets():
    x, y = _separable((6, 3, 28, 28))
    cfg = {"model": "aufusion", "input_size": 28, "lr": 1e-3, "weight_decay": 0.0, "epochs": 1, "batch_size": 6, "flip": False}
    with pytest.raises(ConfigError, match="auxiliary"):
        _train_one(x, y, 3, cfg, 0, torch.device("cpu"), (np.zeros(3, np.float32), np.ones(3, np.float32), 0.0))


def test_au_parsing_and_unknown_rows_are_masked():
    assert parse_aus("4+L10") == [4, 10]
    assert parse_aus("AU1+AU2") == [1, 2]
    assert parse_aus("R12B+14") == [12, 14]
    assert parse_aus("") == []
    t = au_targets(["1+2", "", "12+43"], [1, 2, 12])
    np.testing.assert_array_equal(t[0], [1, 1, 0])
    assert np.isnan(t[1]).all(), "no AUs coded -> unknown, masked"
    np.testing.assert_array_equal(t[2], [0, 0, 1]), "an AU outside the list is ignored"
    m = build_model("aufusion", num_classes=3, size=28, aus=[1, 2, 12])
    logits = torch.zeros(3, 3, requires_grad=True)
    loss = m.auxiliary_loss(logits, torch.tensor(t))
    expected = 0.5 * torch.nn.functional.binary_cross_entropy_with_logits(torch.zeros(2, 3), torch.tensor(t[[0, 2]]))
    assert torch.isclose(loss, expected)
    assert m.auxiliary_loss(logits, torch.tensor(t[[1]])).item() == 0.0


def _fake_vgg(names, in_channels=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    ref = VGG16Features(in_channels)
    return {f"{n}.{k}": torch.randn(getattr(c, k).shape, generator=g) for n, c in zip(names, ref.convs, strict=True) for k in ("weight", "bias")}


@pytest.mark.parametrize("names", [TORCHVISION_CONVS, VGGFACE_CONVS], ids=["torchvision", "vggface"])
def test_vgg16_weights_load_from_either_naming(tmp_path, names):
    state = _fake_vgg(names) | {"classifier.0.weight": torch.zeros(2, 2)}  # extra keys are ignored
    torch.save(state, tmp_path / "vgg.pth")
    m = build_model("elrcn_te", num_classes=3, width=1, weights=str(tmp_path / "vgg.pth"), hidden=8, feature_dim=8)
    grey = m.streams["grey"]  # 1-channel stream: RGB filters averaged, scaled by 3
    torch.testing.assert_close(grey.convs[0].weight, state[f"{names[0]}.weight"].mean(1, keepdim=True) * 3)
    torch.testing.assert_close(grey.convs[5].weight, state[f"{names[5]}.weight"])
    flow = m.streams["flow"]  # 2 channels: mean repeated, scaled by 3/2
    torch.testing.assert_close(flow.convs[0].weight, state[f"{names[0]}.weight"].mean(1, keepdim=True).repeat(1, 2, 1, 1) * 1.5)
    assert not any(isinstance(x, torch.nn.BatchNorm2d) for x in m.modules()), "pretrained VGG-16 has no batch norm"


def test_vgg16_weight_errors_name_the_file(tmp_path):
    missing = tmp_path / "nope.pth"
    with pytest.raises(ConfigError, match="nope.pth not found.*downloads nothing"):
        build_model("elrcn_se", num_classes=3, width=1, weights=str(missing))
    torch.save({"fc.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(ConfigError, match="other.pth: not a VGG-16 state dict.*fc.weight"):
        load_vgg16_weights(VGG16Features(3), tmp_path / "other.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a pickle")
    with pytest.raises(ConfigError, match="junk.pth: cannot read"):
        load_vgg16_weights(VGG16Features(3), tmp_path / "junk.pth")
    torch.save(_fake_vgg(TORCHVISION_CONVS), tmp_path / "vgg.pth")
    with pytest.raises(ConfigError, match="width: 1"):
        build_model("elrcn_se", num_classes=3, width=0.5, weights=str(tmp_path / "vgg.pth"))
    with pytest.raises(ConfigError, match="training.options.*unexpected keyword"):
        build_model("elrcn_se", num_classes=3, colour=True)
