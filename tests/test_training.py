"""Models: shapes and a tiny overfit; the fold trainer's determinism."""

import numpy as np
import torch

from mexp_lib.models import build_model


def test_ststnet_shape():
    m = build_model("ststnet", num_classes=3)
    assert m(torch.zeros(4, 3, 28, 28)).shape == (4, 3)


def test_ststnet_overfits_a_tiny_set():
    torch.manual_seed(0)
    x = torch.randn(12, 3, 28, 28)
    y = torch.arange(12) % 3
    m = build_model("ststnet", num_classes=3, dropout=0.0)
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    for _ in range(150):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(m(x), y)
        loss.backward()
        opt.step()
    m.eval()
    assert (m(x).argmax(1) == y).float().mean() == 1.0


def test_training_is_deterministic():
    from mexp_lib.training import _train_one

    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 3, 28, 28)).astype(np.float32)
    y = np.arange(12) % 3
    cfg = {"model": "ststnet", "lr": 1e-3, "weight_decay": 0.0, "epochs": 3, "batch_size": 4, "flip": True}
    a = _train_one(x, y, 3, cfg, 0, torch.device("cpu"))
    b = _train_one(x, y, 3, cfg, 0, torch.device("cpu"))
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(va, vb), k
