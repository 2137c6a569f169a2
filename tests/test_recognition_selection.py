"""Seed ensembles, nested (leak-free) selection, the training options and the HTNet-style model."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from mexp_lib.errors import ConfigError, DataError
from mexp_lib.io.h5store import write_store
from mexp_lib.models import build_model
from mexp_lib.recognition.evaluate import recognition_table, seed_ensemble
from mexp_lib.recognition.fit import _lr_factor, _mirror_normalised, _random_affine, _train_one, predict_proba
from mexp_lib.recognition.selection import inner_groups, select_hyperparameters
from mexp_lib.recognition.train import train_fold

CLASSES = ["a", "b"]


def _preds() -> pd.DataFrame:
    # two seeds; seed 0 is confidently wrong on s2, seed 1 mildly right: the ensemble is right
    rows = []
    for seed, probs in [(0, [(0.9, 0.1), (0.9, 0.1)]), (1, [(0.8, 0.2), (0.3, 0.7)])]:
        for (pa, pb), (smp, lab) in zip(probs, [("s1", "a"), ("s2", "b")], strict=True):
            rows.append({"dataset": "d", "subject": smp, "sample": smp, "label": lab, "pred": "a" if pa > pb else "b", "seed": seed,
                         "prob_a": pa, "prob_b": pb})
    rows[1].update(prob_a=0.2, prob_b=0.8, pred="b")  # seed 0, s2: (0.2, 0.8); mean over seeds (0.25, 0.75)
    rows[3].update(prob_a=0.6, prob_b=0.4, pred="a")  # seed 1, s2: wrong
    return pd.DataFrame(rows)


def test_seed_ensemble_averages_probabilities_and_is_a_labelled_row():
    preds = _preds()
    ens = seed_ensemble(preds, CLASSES).set_index("sample")
    assert ens.loc["s2", "prob_b"] == pytest.approx(0.6) and ens.loc["s2", "pred"] == "b"
    t = recognition_table(preds, CLASSES)
    assert list(t.fold) == ["s1", "s2", "mean", "ensemble", "all"]
    e = t[t.fold == "ensemble"].iloc[0]
    assert e.accuracy == 1.0 and e.seeds == 2 and np.isnan(e.uf1_std)
    assert t.iloc[-1].accuracy == pytest.approx(0.75)  # mean over seeds: 1.0 and 0.5


def test_seed_ensemble_absent_without_probabilities_and_an_error_when_partial():
    preds = _preds()
    assert seed_ensemble(preds.drop(columns=["prob_a", "prob_b"]), CLASSES) is None
    assert "ensemble" not in set(recognition_table(preds.drop(columns=["prob_a", "prob_b"]), CLASSES).fold)
    with pytest.raises(DataError, match="probabilities incomplete"):
        seed_ensemble(preds.drop(columns=["prob_b"]), CLASSES)


def test_inner_groups():
    subs = [f"s{i}" for i in range(10)]
    assert inner_groups(subs, 0) == [[s] for s in subs]
    groups = inner_groups(subs * 2, 3)
    assert sorted(sum(groups, [])) == subs and sorted(len(g) for g in groups) == [3, 3, 4]
    with pytest.raises(ConfigError, match="folds"):
        inner_groups(subs, 1)


def _toy(n_subjects: int = 6, per: int = 6, seed: int = 0):
    """Class b samples carry a bright blob: easy to learn with a usable learning rate."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.3, size=(n_subjects * per, 3, 28, 28)).astype(np.float32)
    y = np.arange(len(x)) % 2
    x[y == 1, :, 8:20, 8:20] += 2.0
    samples = pd.DataFrame({"video": [f"v{i}" for i in range(len(x))], "sample": [f"v{i}" for i in range(len(x))],
                            "subject": [f"s{i // per}" for i in range(len(x))], "source": "toy", "label": [CLASSES[i] for i in y]})
    return samples, x, y


CFG = {"model": "ststnet", "input_size": 28, "epochs": 8, "batch_size": 8, "lr": 0.01, "weight_decay": 0.0, "flip": False, "seeds": [0]}


def test_nested_selection_prefers_the_learning_rate_that_learns():
    samples, x, y = _toy()
    cfg = CFG | {"selection": {"method": "inner", "folds": 3, "grid": {"lr": [1e-7, 0.01]}}}
    chosen, scores = select_hyperparameters(samples, x, y, classes=CLASSES, cfg=cfg, device=torch.device("cpu"), centre=0.0)
    assert chosen == {"lr": 0.01}
    assert scores[1]["uf1"] > scores[0]["uf1"]
    one = samples[samples.subject == "s0"]
    with pytest.raises(ConfigError, match="at least 2 training subjects"):
        select_hyperparameters(one, x[:6], y[:6], classes=CLASSES, cfg=cfg, device=torch.device("cpu"), centre=0.0)
    with pytest.raises(ConfigError, match="cannot be selected"):
        select_hyperparameters(samples, x, y, classes=CLASSES, cfg=cfg | {"selection": {"grid": {"seeds": [[0]]}}}, device=torch.device("cpu"), centre=0.0)


def test_train_fold_selection_never_sees_the_test_subject(tmp_path):
    samples, x, _ = _toy()
    cfg = CFG | {"selection": {"method": "inner", "folds": 0, "grid": {"epochs": [1, 6], "lr": [1e-7, 0.01]}}}
    chosen, scores = [], []
    for k, x_test in enumerate([x[-6:], -x[-6:] * 5]):  # the test subject's inputs changed wildly: the choice must not move
        xx = np.concatenate([x[:-6], x_test])
        write_store(tmp_path / f"pack{k}.h5", {"x": xx, "sample": np.array(samples["sample"], dtype="S")}, {"kind": "apex", "centre": 0.0, "size": 28})
        out = tmp_path / f"f{k}"
        preds = train_fold(samples, tmp_path / f"pack{k}.h5", test_subject="s5", classes=CLASSES, cfg=cfg, out_predictions=out / "p.csv",
                           out_checkpoint=out / "m.pt", out_selection=out / "selection.json")
        rec = json.loads((out / "selection.json").read_text())
        assert rec["method"] == "inner" and rec["test_fold"] == "s5" and len(rec["scores"]) == 4
        chosen.append(rec["chosen"])
        scores.append(rec["scores"])
        assert {"prob_a", "prob_b"} <= set(preds.columns) and np.allclose(preds[["prob_a", "prob_b"]].sum(axis=1), 1)
    assert chosen[0] == chosen[1] and chosen[0]["lr"] == 0.01
    # not only the choice: every candidate's inner score is the same to the bit (the test
    # subject's inputs never enter the inner folds, nor their normalisation)
    assert scores[0] == scores[1]


def test_fixed_schedule_writes_a_fixed_selection_record(tmp_path):
    samples, x, _ = _toy(n_subjects=3)
    write_store(tmp_path / "pack.h5", {"x": x, "sample": np.array(samples["sample"], dtype="S")}, {"kind": "apex", "centre": 0.0, "size": 28})
    train_fold(samples, tmp_path / "pack.h5", test_subject="s0", classes=CLASSES, cfg=CFG | {"epochs": 1}, out_predictions=tmp_path / "p.csv",
               out_checkpoint=tmp_path / "m.pt", out_selection=tmp_path / "s.json")
    assert json.loads((tmp_path / "s.json").read_text())["method"] == "fixed"
    with pytest.raises(ConfigError, match="selection.method"):
        train_fold(samples, tmp_path / "pack.h5", test_subject="s0", classes=CLASSES, cfg=CFG | {"selection": {"method": "outer"}},
                   out_predictions=tmp_path / "p.csv", out_checkpoint=tmp_path / "m.pt")


def test_cosine_schedule_and_warmup():
    assert _lr_factor("constant", 50, 100, 0) == 1.0
    assert _lr_factor("cosine", 0, 100, 0) == 1.0
    assert _lr_factor("cosine", 50, 100, 0) == pytest.approx(0.5)
    assert _lr_factor("cosine", 99, 100, 0) < 0.01
    assert _lr_factor("cosine", 4, 100, 10) == pytest.approx(0.5)
    with pytest.raises(ConfigError, match="schedule"):
        _lr_factor("step", 0, 10, 0)


def test_affine_identity_at_zero_and_moves_at_nonzero():
    x = torch.randn(4, 3, 28, 28)
    g = torch.Generator().manual_seed(0)
    assert torch.allclose(_random_affine(x, g, shift=0, rotate=0, scale=0), x, atol=1e-5)
    assert not torch.allclose(_random_affine(x, g, shift=0.1, rotate=5, scale=0.05), x, atol=1e-2)


def test_test_time_flip_averages_input_and_mirror():
    torch.manual_seed(0)
    m = build_model("ststnet", num_classes=3).eval()
    x = torch.randn(5, 3, 28, 28)
    assert torch.allclose(_mirror_normalised(_mirror_normalised(x, 0.3), 0.3), x, atol=1e-6)
    plain, mirrored = predict_proba(m, x), predict_proba(m, _mirror_normalised(x, 0.3))
    both = predict_proba(m, x, tta_flip=True, u_mirror=0.3)
    assert np.allclose(both, (plain + mirrored) / 2, atol=1e-6) and not np.allclose(both, plain, atol=1e-4)


def test_mixup_and_affine_training_is_deterministic_and_changes_the_model():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 3, 28, 28)).astype(np.float32)
    y = np.arange(12) % 3
    norm = (x.mean((0, 2, 3)), x.std((0, 2, 3)), 0.0)
    cfg = {"model": "ststnet", "lr": 1e-3, "weight_decay": 0.0, "epochs": 2, "batch_size": 4, "flip": True, "input_size": 28}
    aug = cfg | {"mixup": 0.4, "affine": {"shift": 0.05, "rotate": 5, "scale": 0.05}, "schedule": "cosine"}
    a, b, plain = (_train_one(x, y, 3, c, 0, torch.device("cpu"), norm) for c in (aug, aug, cfg))
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(va, vb), k
    assert not torch.equal(a.fc.weight, plain.fc.weight)


def test_htnet_shape_overfit_and_bad_options():
    m = build_model("htnet", num_classes=3, size=28, dropout=0.0)
    assert m(torch.zeros(2, 3, 28, 28)).shape == (2, 3)
    torch.manual_seed(0)
    x, y = torch.randn(12, 3, 28, 28), torch.arange(12) % 3
    opt = torch.optim.Adam(m.parameters(), lr=3e-3)
    for _ in range(80):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(m(x), y).backward()
        opt.step()
    m.eval()
    assert (m(x).argmax(1) == y).float().mean() == 1.0
    with pytest.raises(ConfigError, match="divisible"):
        build_model("htnet", num_classes=3, size=28, patch=3)


def test_flow_features_blur_remove_the_global_motion_and_pool():
    from mexp_lib.recognition.svm import flow_features

    f = np.zeros((2, 2, 32, 32), np.float32)
    f[:, 0] += 1.5  # a global shift of u (head drift)
    f[1, 1, 8:16, 8:16] = 2.0  # one local movement of v
    plain = flow_features(f, grid=4, blur=0, remove_median=False)
    assert plain.shape == (2, 32) and np.allclose(plain[:, :16], 1.5)
    x = flow_features(f, grid=4, blur=1, remove_median=True)
    assert np.allclose(x[:, :16], 0, atol=1e-6), "the global shift is removed"
    v = x[1, 16:].reshape(4, 4)
    assert v[1, 1] > 1 and abs(v[3, 3]) < 1e-3 and np.allclose(x[0], 0, atol=1e-6)


def _field_pack(tmp_path, samples, x_apex, x_field, name="pack.h5"):
    write_store(tmp_path / name, {"x_apex": x_apex, "x_flow_field": x_field, "sample": np.array(samples["sample"], dtype="S")},
                {"kinds": json.dumps(["flow_field", "apex"]), "centres": json.dumps({"flow_field": 0.0, "apex": 0.0}), "size": 28})
    return tmp_path / name


def _fields(y: np.ndarray, seed: int = 0) -> np.ndarray:
    """(N, 2, 24, 24) flow fields: class b moves the upper half up by a third of a pixel, under noise and a random global drift."""
    rng = np.random.default_rng(seed)
    f = rng.normal(0, 0.3, (len(y), 2, 24, 24)).astype(np.float32) + rng.normal(0, 1, (len(y), 2, 1, 1)).astype(np.float32)
    f[y == 1, 1, :12] -= 0.33
    return f


def test_flow_svm_trains_in_train_fold_like_every_model(tmp_path):
    samples, x, y = _toy()
    pack = _field_pack(tmp_path, samples, x, _fields(y))
    cfg = CFG | {"model": "flow_svm", "seeds": [0, 1], "flow_svm": {"grid": 4, "blur": 1, "remove_median": True, "c": 0.1}}
    preds = train_fold(samples, pack, test_subject="s5", classes=CLASSES, cfg=cfg, out_predictions=tmp_path / "p.csv", out_checkpoint=tmp_path / "m.pt",
                       out_selection=tmp_path / "s.json")
    assert len(preds) == 12 and (preds.label == preds.pred).mean() == 1.0
    assert np.allclose(preds[["prob_a", "prob_b"]].sum(axis=1), 1) and ((preds.prob_b > 0.5) == (preds.pred == "b")).all()
    ck = torch.load(tmp_path / "m.pt", weights_only=False)
    assert ck["model"] == "flow_svm" and ck["states"][0]["coef"].shape == (1, 32) and ck["config"]["flow_svm"]["grid"] == 4
    assert json.loads((tmp_path / "s.json").read_text())["model"] == "flow_svm"
    with pytest.raises(DataError, match="holds flow_field, apex inputs"):
        train_fold(samples, pack, test_subject="s5", classes=CLASSES, cfg=CFG | {"model": "c3d"}, out_predictions=tmp_path / "p.csv",
                   out_checkpoint=tmp_path / "m.pt")


AUTO_CFG = CFG | {"model": "auto", "selection": {"folds": 0, "models": ["flow_svm", "ststnet"], "grids": {"flow_svm": {"c": [0.01, 1.0]}}},
                  "flow_svm": {"grid": 4}}


def test_auto_selects_the_family_on_the_training_subjects_and_never_sees_the_test_subject(tmp_path):
    """The leak test with a model grid: the test subject's inputs (both kinds) changed wildly
    leave the chosen model and every candidate's inner score unchanged to the bit."""
    samples, x, y = _toy()
    fields = _fields(y)
    records = []
    for k, scale in enumerate([1, -5]):
        xx, ff = x.copy(), fields.copy()
        xx[-6:] *= scale
        ff[-6:] *= scale
        pack = _field_pack(tmp_path, samples, xx, ff, f"pack{k}.h5")
        out = tmp_path / f"f{k}"
        train_fold(samples, pack, test_subject="s5", classes=CLASSES, cfg=AUTO_CFG, out_predictions=out / "p.csv", out_checkpoint=out / "m.pt",
                   out_selection=out / "selection.json")
        rec = json.loads((out / "selection.json").read_text())
        assert rec["method"] == "inner" and rec["models"] == ["flow_svm", "ststnet"] and len(rec["scores"]) == 3
        assert [s["model"] for s in rec["scores"]] == ["flow_svm", "flow_svm", "ststnet"]
        ck = torch.load(out / "m.pt", weights_only=False)
        assert ck["requested_model"] == "auto" and ck["model"] == rec["chosen"]["model"] == rec["model"]
        records.append(rec)
    assert records[0]["chosen"] == records[1]["chosen"] and records[0]["scores"] == records[1]["scores"]


def test_auto_falls_back_to_the_svm_where_the_network_cannot_learn():
    """Class b's only trace is a sub-pixel movement in the flow fields; the apex inputs are
    noise: the inner folds choose flow_svm. With the signal in the apex inputs only, ststnet."""
    samples, x, y = _toy()
    noise = np.random.default_rng(1).normal(0, 0.3, x.shape).astype(np.float32)
    cfg = AUTO_CFG | {"selection": AUTO_CFG["selection"] | {"grids": {}}}
    chosen, _ = select_hyperparameters(samples, {"apex": noise, "flow_field": _fields(y)}, y, classes=CLASSES, cfg=cfg, device=torch.device("cpu"),
                                       centre={"apex": 0.0, "flow_field": 0.0})
    assert chosen == {"model": "flow_svm"}
    chosen, _ = select_hyperparameters(samples, {"apex": x, "flow_field": _fields(np.zeros_like(y))}, y, classes=CLASSES, cfg=cfg,
                                       device=torch.device("cpu"), centre={"apex": 0.0, "flow_field": 0.0})
    assert chosen == {"model": "ststnet"}
    with pytest.raises(ConfigError, match="not a candidate model"):
        select_hyperparameters(samples, {"apex": x}, y, classes=CLASSES, cfg=cfg | {"selection": {"models": ["ststnet"], "grids": {"c3d": {}}}},
                               device=torch.device("cpu"), centre=0.0)
    with pytest.raises(ConfigError, match="cannot be selected for flow_svm"):
        select_hyperparameters(samples, {"apex": x}, y, classes=CLASSES, cfg=cfg | {"selection": {"grids": {"flow_svm": {"lr": [0.1]}}}},
                               device=torch.device("cpu"), centre=0.0)


def test_the_provenance_counts_the_models_chosen(tmp_path):
    from mexp_lib.recognition.evaluate import evaluate_recognition

    files = []
    for k, (fold, model) in enumerate([("s1", "flow_svm"), ("s2", "ststnet"), ("s3", "flow_svm")]):
        d = tmp_path / fold
        d.mkdir()
        pd.DataFrame([{"dataset": "d", "subject": fold, "sample": f"x{k}", "label": "a", "pred": "a", "seed": 0}]).to_csv(d / "predictions.csv", index=False)
        (d / "selection.json").write_text(json.dumps({"test_fold": fold, "method": "inner", "model": model, "chosen": {"model": model}}))
        files.append(str(d / "predictions.csv"))
    o = tmp_path / "out"
    evaluate_recognition(files, classes=CLASSES, cfg={}, out_csv=o / "t.csv", out_predictions=o / "p.csv", out_png=o / "c.png",
                         out_provenance=o / "prov.json", out_html=o / "t.html")
    prov = json.loads((o / "prov.json").read_text())
    assert prov["models_chosen"] == {"flow_svm": 2, "ststnet": 1} and prov["selection"]["s2"] == {"model": "ststnet"}
    assert "flow_svm in 2, ststnet in 1 of 3 folds" in (o / "t.html").read_text()


def test_one_se_rule_replaces_the_first_model_only_on_evidence():
    """model auto, rule one_se: a later model whose inner score is higher by less than one
    standard error of the paired per-group difference does not replace the first model; one
    higher by more does; rule best takes the higher score either way; within a model's grid the
    best candidate is that model's entry."""
    from mexp_lib.recognition.selection import choose_candidate

    cands = [{"model": "flow_svm", "c": 0.01}, {"model": "flow_svm", "c": 0.1}, {"model": "ststnet"}]
    noisy = [np.array([0.70, 0.70, 0.70, 0.70]), np.array([0.80, 0.80, 0.80, 0.80]), np.array([0.60, 1.00, 0.70, 1.00])]
    score = [0.70, 0.80, 0.82]
    assert choose_candidate(cands, score, noisy, rule="one_se") == 1  # ststnet's +0.02 is within one SE (0.09)
    assert choose_candidate(cands, score, noisy, rule="best") == 2
    clear = [noisy[0], noisy[1], np.array([0.95, 0.96, 0.94, 0.95])]
    assert choose_candidate(cands, [0.70, 0.80, 0.95], clear, rule="one_se") == 2  # +0.15, SE 0.004: replaced
    with pytest.raises(ConfigError, match="training.selection.rule"):
        choose_candidate(cands, score, noisy, rule="median")
