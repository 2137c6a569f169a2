"""Models: shapes and a tiny overfit; the fold trainer's determinism; every registered model
packing its inputs and training a fold in process."""

import re

import numpy as np
import pandas as pd
import pytest
import torch

from mexp_lib.models import build_model
from mexp_lib.recognition.kinds import INPUT_KINDS


def test_ststnet_shape():
    m = build_model("ststnet", num_classes=3)
    assert m(torch.zeros(4, 3, 28, 28)).shape == (4, 3)
    # the paper's network: 3 + 5 + 8 filters; width 2 doubles every stream
    wide = build_model("ststnet", num_classes=3, width=2)
    assert wide(torch.zeros(4, 3, 28, 28)).shape == (4, 3)
    assert sum(p.numel() for p in m.parameters()) == 1683  # 28 x 16 conv + 2 x 16 batch norm + 400 x 3 + 3 fully connected
    assert [s[0].out_channels for s in wide.streams] == [6, 10, 16]


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
    from mexp_lib.recognition.fit import _train_one

    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 3, 28, 28)).astype(np.float32)
    y = np.arange(12) % 3
    cfg = {"model": "ststnet", "lr": 1e-3, "weight_decay": 0.0, "epochs": 3, "batch_size": 4, "flip": True}
    cfg["input_size"] = 28
    norm = (x.mean((0, 2, 3)), x.std((0, 2, 3)), 0.0)
    a = _train_one(x, y, 3, cfg, 0, torch.device("cpu"), norm)
    b = _train_one(x, y, 3, cfg, 0, torch.device("cpu"), norm)
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(va, vb), k


def test_ema_returns_the_average_of_the_weights_over_the_steps(monkeypatch):
    """training.ema: the model returned holds the exponential moving average of the weights
    seen after each step (checked against an average kept beside an unchanged training run),
    and with ema 0 the last weights, as before."""
    from mexp_lib.recognition import fit

    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 3, 28, 28)).astype(np.float32)
    y = np.arange(12) % 3
    cfg = {"model": "ststnet", "lr": 1e-2, "weight_decay": 0.0, "epochs": 3, "batch_size": 4, "flip": False, "input_size": 28}
    norm = (x.mean((0, 2, 3)), x.std((0, 2, 3)), 0.0)
    seen: list[dict[str, torch.Tensor]] = []
    real_update = fit._update_average

    def spy(average, model, decay):  # record the weights after each step, then update
        seen.append({k: v.detach().clone() for k, v in model.state_dict().items()})
        real_update(average, model, decay)

    monkeypatch.setattr(fit, "_update_average", spy)
    averaged = fit._train_one(x, y, 3, {**cfg, "ema": 0.9}, 0, torch.device("cpu"), norm)
    last = fit._train_one(x, y, 3, cfg, 0, torch.device("cpu"), norm)
    assert len(seen) == 3 * 3  # 12 samples, batches of 4, 3 epochs
    key = next(k for k, v in last.state_dict().items() if v.dtype.is_floating_point and v.ndim > 1)
    fit.seed_everything(0)  # the initial weights _train_one starts from
    init = fit.build_model("ststnet", num_classes=3, size=28, **fit.model_options(fit.training_settings(cfg)))
    want = init.state_dict()[key].clone()
    for w in seen:
        want = 0.9 * want + 0.1 * w[key]
    torch.testing.assert_close(averaged.state_dict()[key], want)
    torch.testing.assert_close(last.state_dict()[key], seen[-1][key])  # ema 0: the last weights
    assert not torch.allclose(averaged.state_dict()[key], last.state_dict()[key])


def test_offapexnet_shape_and_overfit():
    m = build_model("offapexnet", num_classes=3, size=28, dropout=0.0)
    assert m(torch.zeros(2, 3, 28, 28)).shape == (2, 3)
    torch.manual_seed(0)
    x = torch.randn(12, 3, 28, 28)
    y = torch.arange(12) % 3
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    for _ in range(60):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(m(x), y).backward()
        opt.step()
    m.eval()
    assert (m(x).argmax(1) == y).float().mean() == 1.0


def test_precomputed_flow_image_input_and_its_mirror(real):
    from mexp_lib.recognition.inputs import load_input

    png = real / "wangzhifengharrison__HTNet/STSNet_whole_norm_u_v_os/sub01_EP02_01f.png"
    x, centre = load_input(png, 28)
    assert x.shape == (3, 28, 28) and x.dtype == np.float32 and centre == 0.5
    assert x.min() >= 0 and x.max() <= 1 and x[0].min() == 0 and x[0].max() == 1, "u is min-max normalised per image"
    # min-max normalising -u gives 1 - u: mirroring reflects u about 0.5
    u = x[0]
    neg = (-u - (-u).min()) / ((-u).max() - (-u).min())
    np.testing.assert_allclose(neg, 1 - u, atol=1e-6)


def test_train_fold_on_precomputed_inputs(real, tmp_path):
    import pandas as pd

    from mexp_lib.datasets import load_dataset
    from mexp_lib.datasets.classes import CLASS_SETS, apply_class_set
    from mexp_lib.recognition.inputs import build_inputs, read_input_pack
    from mexp_lib.recognition.train import train_fold

    d = real / "wangzhifengharrison__HTNet"
    samples, _ = load_dataset("m", {"format": "precomputed", "root": str(d / "STSNet_whole_norm_u_v_os"), "annotations": str(d / "combined_3_class2_for_optical_flow.csv")})
    samples, _ = apply_class_set(samples[samples.source == "casme2"], CLASS_SETS["composite3"])
    cfg = {"model": "ststnet", "input_size": 28, "epochs": 2, "batch_size": 64, "lr": 5e-3, "weight_decay": 0.0, "flip": True, "seeds": [0, 1]}
    assert build_inputs(samples, dict(zip(samples["sample"], samples.frames, strict=True)), size=28, out=tmp_path / "pack.h5") == len(samples)
    packed, centre = read_input_pack(tmp_path / "pack.h5")
    assert centre == 0.5 and set(packed) == set(samples["sample"]) and packed["sub01_EP02_01f"].shape == (3, 28, 28)
    preds = train_fold(samples, tmp_path / "pack.h5", test_subject="sub01", classes=["negative", "positive", "surprise"], cfg=cfg,
                       out_predictions=tmp_path / "p.csv", out_checkpoint=tmp_path / "m.pt")
    assert len(preds) == 2 * (samples.subject == "sub01").sum() and set(preds.subject) == {"sub01"}
    assert set(preds.dataset) == {"casme2"}
    again = pd.read_csv(tmp_path / "p.csv", dtype={"subject": str})
    pd.testing.assert_frame_equal(preds.reset_index(drop=True), again, check_dtype=False)
    ck = torch.load(tmp_path / "m.pt", weights_only=False)
    assert ck["test_subject"] == "sub01" and set(ck["states"]) == {0, 1} and len(ck["mean"]) == 3


SEQUENCE_MODELS = [m for m, kind in INPUT_KINDS.items() if kind == "sequence"]  # the registry's


def test_sequence_models_shapes():
    from mexp_lib.models.spatiotemporal import predict_labels

    x = torch.zeros(2, 5, 3, 32, 32)
    for name in SEQUENCE_MODELS:
        m = build_model(name, num_classes=4, size=32).eval()
        out = m(x)
        assert out.shape == ((2, 5, 4) if name == "cnn2d_vote" else (2, 4)), name
        assert predict_labels(out).shape == (2,)


def test_majority_vote():
    from mexp_lib.models.spatiotemporal import predict_labels

    # clip 0: frames vote 1, 1, 0 -> 1 even though frame 2 is very sure of 0
    logits = torch.tensor([[[0.0, 1.0], [0.0, 1.0], [9.0, 0.0]], [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]])
    assert predict_labels(logits).tolist() == [1, 0]


def test_sequence_models_overfit_a_tiny_set():
    from mexp_lib.recognition.fit import _train_one

    rng = np.random.default_rng(0)
    x = rng.normal(size=(9, 4, 3, 16, 16)).astype(np.float32)
    y = np.arange(9) % 3
    x[np.arange(9), :, 0, :, :] += y[:, None, None, None]  # class-dependent mean u
    norm = (np.zeros(3, np.float32), np.ones(3, np.float32), 0.0)
    for name in SEQUENCE_MODELS:
        cfg = {"model": name, "input_size": 16, "lr": 5e-3, "weight_decay": 0.0, "epochs": 40, "batch_size": 9, "flip": False}
        m = _train_one(x, y, 3, cfg, 0, torch.device("cpu"), norm)
        from mexp_lib.models.spatiotemporal import predict_labels

        with torch.no_grad():
            assert (predict_labels(m(torch.tensor(x))).numpy() == y).all(), name


def test_device_auto_takes_cuda_when_there_is_one(monkeypatch):
    """training.device: auto (the default) -> CUDA on a machine with a GPU, else the CPU; an
    explicit choice is kept. (No GPU here: CUDA's availability is what decides.)"""
    from mexp_lib.device import select_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert select_device("auto").type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert select_device("auto").type == "cpu"
    assert select_device("cpu").type == "cpu"


# --- every registered model trains a fold, in process, on a tiny pack -----------------------------

CLASSES = ["negative", "positive", "surprise"]
T_FRAMES, SIDE = 6, 32


@pytest.fixture(scope="module")
def tiny_stores(tmp_path_factory) -> tuple[pd.DataFrame, dict[str, str], dict[str, str]]:
    """Nine samples (3 subjects x 3 classes) as the motion stage leaves them: per sample a flow
    store (onset -> every frame of a 6-frame 32 px clip, a class-dependent motion growing to the
    apex) and the grey clip store it was computed from; the sample table (one sample without
    coded AUs), flow stores and clip stores by sample id."""
    from mexp_lib.io.h5store import write_store

    root = tmp_path_factory.mktemp("tiny_stores")
    rng = np.random.default_rng(0)
    rows, flows, clips = [], {}, {}
    ramp = np.linspace(0, 1, T_FRAMES, dtype=np.float32)[:, None, None]
    for subject in ("s1", "s2", "s3"):
        for c, label in enumerate(CLASSES):
            sample = f"{subject}_{label}"
            flow = rng.normal(0, 0.1, (T_FRAMES, SIDE, SIDE, 2)).astype(np.float32)
            flow[..., c % 2] += (1 + c) * ramp
            strain = np.linalg.norm(flow, axis=-1)
            flows[sample], clips[sample] = str(root / f"{sample}.flow.h5"), str(root / f"{sample}.clip.h5")
            write_store(flows[sample], {"flow": flow.astype(np.float16), "strain": strain.astype(np.float16),
                                        "pairs": np.array([(0, t) for t in range(T_FRAMES)], np.int32)}, {"stage": "flow", "apex_index": T_FRAMES - 2})
            write_store(clips[sample], {"frames": rng.uniform(40, 220, (T_FRAMES, SIDE, SIDE)).astype(np.uint8)}, {"stage": "normalised"})
            aus = None if sample == "s3_surprise" else ["1+2", "12", "1+2+5+26"][c]
            rows.append({"sample": sample, "subject": subject, "source": "tiny", "label": label, "aus": aus, "onset": 0, "apex": T_FRAMES - 2})
    return pd.DataFrame(rows), flows, clips


# The packed input of one sample per kind (input_size 28; flow_field at the stores' native size).
PACKED = {"apex": (3, 28, 28), "sequence": (T_FRAMES, 3, 28, 28), "sequence_grey": (T_FRAMES, 4, 28, 28), "flow_field": (2, SIDE, SIDE)}


@pytest.mark.parametrize("model", sorted(INPUT_KINDS))
def test_every_model_packs_its_inputs_and_trains_a_fold(model, tiny_stores, tmp_path, caplog):
    """training.model switches the model: build_inputs packs the kind the model reads (as the
    build_inputs script calls it), train_fold trains one epoch and predicts every test sample,
    and the checkpoint holds that model (its weights load into a fresh build of it)."""
    import logging

    from mexp_lib.recognition.inputs import build_inputs, read_input_pack
    from mexp_lib.recognition.kinds import SVM_MODELS, input_kind, input_kinds
    from mexp_lib.recognition.settings import training_settings
    from mexp_lib.recognition.train import train_fold

    samples, flows, clips = tiny_stores
    cfg = training_settings({"model": model, "epochs": 1, "batch_size": 4, "seeds": [0], "input_size": 28})
    kind = input_kind(model)
    pack = tmp_path / "inputs.h5"
    assert build_inputs(samples, flows, size=28, out=pack, kinds=input_kinds(cfg), clips=clips, field=dict(cfg["flow_svm"])) == 9
    packed, _ = read_input_pack(pack, kind)
    assert set(packed) == set(samples["sample"])
    shape = packed["s1_negative"].shape
    assert (shape == PACKED[kind]) if kind in PACKED else (len(shape) == 1), (kind, shape)  # lbptop: a descriptor
    caplog.set_level(logging.INFO, logger="mexp_lib")
    preds = train_fold(samples, pack, test_subject="s1", classes=CLASSES, cfg=cfg, out_predictions=tmp_path / "p.csv", out_checkpoint=tmp_path / "m.pt")
    assert sorted(preds["sample"]) == ["s1_negative", "s1_positive", "s1_surprise"] and set(preds.pred) <= set(CLASSES)
    assert len(pd.read_csv(tmp_path / "p.csv")) == 3
    ck = torch.load(tmp_path / "m.pt", weights_only=False)
    assert ck["model"] == ck["config"]["model"] == model and set(ck["states"]) == {0}
    if model not in SVM_MODELS:  # the weights are this model's: they load, every key, into a fresh build
        build_model(model, num_classes=3, size=28).load_state_dict(ck["states"][0])
    if model == "aufusion":  # the sheet's AUs feed the AU branch: s2's and s3's, one of them not coded
        assert "AU branch: 5 of 6 training samples have coded AUs" in caplog.text
    else:
        assert "AU branch" not in caplog.text


@pytest.mark.parametrize(("fold_by", "fold", "message"), [
    ("subject", "s1", "fold 's1' (subject): no training samples"),
    ("source", "tiny", "fold 'tiny' (source): no training samples"),
])
def test_a_fold_without_training_samples_is_refused(fold_by, fold, message, tiny_stores, tmp_path):
    """train_fold splits its one fold with the one fold splitter (mexp_lib.plan.split_folds): a
    fold that leaves nothing to train on stops naming the fold and its column."""
    from mexp_lib.errors import DataError
    from mexp_lib.recognition.inputs import build_inputs
    from mexp_lib.recognition.kinds import input_kinds
    from mexp_lib.recognition.settings import training_settings
    from mexp_lib.recognition.train import train_fold

    samples, flows, clips = tiny_stores
    cfg = training_settings({"model": "flow_svm", "seeds": [0]})
    pack = tmp_path / "inputs.h5"
    build_inputs(samples, flows, size=28, out=pack, kinds=input_kinds(cfg), clips=clips, field=dict(cfg["flow_svm"]))
    only = samples[samples[fold_by] == fold]
    with pytest.raises(DataError, match=f"^{re.escape(message)}$"):
        train_fold(only, pack, test_subject=fold, classes=CLASSES, cfg=cfg, out_predictions=tmp_path / "p.csv",
                   out_checkpoint=tmp_path / "m.pt", fold_by=fold_by)
