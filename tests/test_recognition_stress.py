"""The recognition stress benchmark's set-up: its buckets, its disjoint parts, and the renderer
keys it adds (``clip_overlap``, ``clip_drift``) doing what they say on a tiny render."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

import bench_recognition_stress as stress  # noqa: E402

from mexp_lib.datasets import demo_plan, demo_render, demo_sheets  # noqa: E402


def test_buckets_change_one_factor_and_map_onto_the_generator():
    buckets = stress.buckets()
    assert buckets[0].name == "middle"
    names = [b.name for b in buckets]
    assert len(names) == len(set(names))
    for factor in stress.FACTORS:
        assert any(b.factor == factor for b in buckets), factor
    for b in buckets[1:]:
        assert {k for k in stress.MIDDLE if b.settings[k] != stress.MIDDLE[k]} == {b.factor}
    mid = stress.generator("dev", buckets[0].settings)
    assert mid["micro_amplitude"] == [0.4, 1.0] and mid["clip_fps"] == 100 and mid["subjects"] == 6
    assert mid["noise_sigma"] == 3 and mid["jpeg_quality"] == 80 and mid["clip_overlap"] == [0.0, 0.45] and mid["clip_drift"] == 1.0
    assert round(mid["frame_size"] * demo_render.PHOTO_FRACTION) == 224
    big = stress.generator("dev", next(b for b in buckets if b.name == "face=400").settings)
    assert big["micro_amplitude"] == pytest.approx([0.4 * 400 / 224, 400 / 224])  # the motion scales with the face
    png = stress.generator("dev", next(b for b in buckets if b.factor == "noise" and b.value[1] is None).settings)
    assert png["jpeg_quality"] is None
    for b in buckets:  # every bucket is a valid generator section
        demo_plan.plan_demo(stress.generator("test", b.settings))


def test_parts_are_disjoint_and_mix_the_databases():
    dev, test = stress.PARTS["dev"], stress.PARTS["test"]
    assert len(dev["subjects"]) == len(test["subjects"]) == 26
    assert not set(dev["subjects"]) & set(test["subjects"])
    assert dev["seed"] != test["seed"]
    for p in (dev, test):
        first6 = p["subjects"][:6]
        assert any(s.startswith("sub") for s in first6) and any(s[0].isdigit() for s in first6) and any(s[0] == "s" and s[1].isdigit() for s in first6)
    photos = {demo_render.photo_subject(f) for f in (REPO.parent / "shared/data/real/wangzhifengharrison__HTNet/combined_datasets_whole").glob("*.jpg")}
    if photos:
        assert set(dev["subjects"]) | set(test["subjects"]) <= photos


def _frames(gen: dict, clip: int = 0) -> tuple[demo_plan.VideoPlan, np.ndarray]:
    g = demo_plan.settings(gen)
    plan = demo_plan.plan_demo(g)[clip]
    face, lm = demo_render.identities(g)[plan.subject]
    return plan, np.stack(list(demo_render.render_video(face, lm, plan, 0.0))).astype(np.float64)


TINY = {"seed": 3, "subjects": 2, "clips_per_class": 1, "frame_size": 96, "clip_fps": 30.0, "long_videos_per_subject": 0, "noise_sigma": 0.0,
        "micro_amplitude": [2.0, 2.0]}


def test_overlap_adds_an_unannotated_movement_of_another_class():
    plan, plain = _frames(TINY)
    oplan, over = _frames({**TINY, "clip_overlap": [0.5, 0.5]})
    extra = [e for e in oplan.events if e.type == "overlap"]
    assert len(extra) == 1 and extra[0].kind != plan.events[0].kind and extra[0].amplitude == pytest.approx(1.0)
    assert [e for e in oplan.events if e.type != "overlap"] == plan.events  # the clip itself is unchanged
    assert np.abs(over - plain).max() > 1  # and the movement is rendered
    assert np.array_equal(_frames({**TINY, "clip_overlap": [0.0, 0.0]})[1], plain)  # a zero fraction is no movement
    assert demo_plan.demo_samples("d", ".", {**TINY, "clip_overlap": [0.5, 0.5]}).equals(demo_plan.demo_samples("d", ".", TINY))  # never annotated
    sheet = demo_sheets.generic_sheet(demo_plan.plan_demo(demo_plan.settings({**TINY, "clip_overlap": [0.5, 0.5]})))
    assert set(sheet.type) == {"micro"} and len(sheet) == 6


def test_drift_scales_the_head_motion_with_the_amplitude():
    assert demo_plan.plan_demo(demo_plan.settings({**TINY, "clip_drift": 1.5}))[0].drift == pytest.approx(3.0)  # 1.5 x the 2 px amplitude
    assert demo_plan.plan_demo(demo_plan.settings(TINY))[0].drift is None  # off: the fixed 0.3 px of the demo

    def change(drift: float) -> float:  # mean change of the clip's frames from its first frame
        frames = _frames({**TINY, "clip_drift": drift})[1]
        return float(np.abs(frames - frames[0]).mean())

    none, some, much = change(0.0), change(0.5), change(2.0)
    assert none < some < much
    assert much > 2 * none


def test_the_readme_flow_and_crop_comparison_is_the_dev_record():
    """The README's development-part comparison of flow method and crop (flow_svm, 21 buckets)
    quotes benchmarks/recognition_stress_dev.csv: counts of buckets, means and worst buckets."""
    import json

    import pandas as pd

    t_all = pd.read_csv(REPO / "benchmarks/recognition_stress_dev.csv", keep_default_na=False)
    t = t_all[t_all.method == "flow_svm"]
    dis = {"method": "dis", "dis": {"finest_scale": 0, "patch_size": 8, "patch_stride": 4, "variational_refinement_iterations": 10}}
    tight = {"margin": 0}
    v = {name: t[t["set"] == (json.dumps(o, sort_keys=True) if o else "")].groupby("bucket").uf1.last()
         for name, o in {"tvl1": {}, "dis": {"flow": dis}, "tvl1_m0": {"face": tight}, "dis_m0": {"face": tight, "flow": dis}}.items()}
    assert all(len(s) == len(stress.buckets()) == 21 for s in v.values())
    text = " ".join((REPO / "README.md").read_text().split())
    a, b, c, d = v["tvl1"], v["dis"], v["tvl1_m0"], v["dis_m0"]
    said = [
        f"it scores below the schema's TV-L1 in {(b < a).sum()} of 21 buckets, mean UF1 {b.mean():.3f} against {a.mean():.3f} "
        f"(worst bucket {b.min():.3f} against {a.min():.3f}), and at the tight crop below it in {(d < c).sum()} of 21, {d.mean():.3f} against {c.mean():.3f}",
        f"scores above the schema's margin of 0.1 in {(c > a).sum()} of 21 buckets and below it in {(c < a).sum()}, mean {c.mean():.3f} "
        f"against {a.mean():.3f}, worst bucket {c.min():.3f} against {a.min():.3f}",
    ]
    auto = {name: t_all[(t_all.method == "default") & (t_all["set"] == (json.dumps(o, sort_keys=True) if o else ""))].groupby("bucket").uf1.last()
            for name, o in {"wide": {}, "tight": {"face": tight}}.items()}
    w, g = auto["wide"], auto["tight"]
    assert len(g) == 21 and set(g.index) <= set(w.index)
    w = w.reindex(g.index)
    said.append(f"above in {(g > w).sum()} of 21 and below in {(g < w).sum()}, mean {g.mean():.3f} against {w.mean():.3f}")
    for claim in said:
        assert claim in text, claim
