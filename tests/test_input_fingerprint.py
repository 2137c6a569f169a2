"""Inputs whose content changes are seen: a frame replaced in place (same name, older time)
reruns its video's stages and nothing else (inputs.fingerprint; Snakemake's params trigger)."""

from __future__ import annotations

import os
import re

import cv2
import numpy as np
import pandas as pd
import pytest
import yaml
from workflow_runner import REPO, planned_jobs, snakemake

from mexp_lib.datasets.demo_render import base_face
from mexp_lib.provenance import input_fingerprint

TARGET = "results/qc/g_faces.csv"


def test_fingerprint_sees_a_replaced_file_with_an_older_time(tmp_path):
    (tmp_path / "v").mkdir()
    frame = tmp_path / "v/frame_00001.png"
    frame.write_bytes(b"a" * 10)
    before = input_fingerprint(tmp_path / "v")
    assert input_fingerprint(tmp_path / "v") == before  # stable
    t = frame.stat().st_mtime_ns
    frame.write_bytes(b"b" * 10)  # same name and size, an older time
    os.utime(frame, ns=(t - 10**12, t - 10**12))
    assert input_fingerprint(tmp_path / "v") != before
    # content: same name, size and time, other bytes -- only the content fingerprint sees it
    stat_fp, content_fp = input_fingerprint(tmp_path / "v"), input_fingerprint(tmp_path / "v", content=True)
    frame.write_bytes(b"c" * 10)
    os.utime(frame, ns=(t - 10**12, t - 10**12))
    assert input_fingerprint(tmp_path / "v") == stat_fp
    assert input_fingerprint(tmp_path / "v", content=True) != content_fp
    assert input_fingerprint(tmp_path / "absent") == "missing"
    (tmp_path / "v/frame_00002.png").write_bytes(b"d")  # a frame added
    assert input_fingerprint(tmp_path / "v") != stat_fp
    video = tmp_path / "clip.mp4"  # a video file: the same
    video.write_bytes(b"x" * 10)
    fp = input_fingerprint(video)
    video.write_bytes(b"y" * 10)
    os.utime(video, ns=(t - 10**12, t - 10**12))
    assert input_fingerprint(video) != fp


def _face_frames(folder, n, seed):
    """``n`` frames of the demo face (a real photograph) with sensor noise."""
    img, _ = base_face(128)
    grey = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2GRAY).astype(np.float32)
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for i in range(n):
        cv2.imwrite(str(folder / f"frame_{i + 1:05d}.png"), np.clip(grey + rng.normal(0, 2, grey.shape), 0, 255).astype(np.uint8))


@pytest.mark.slow
def test_a_replaced_frame_reruns_its_video_only(tmp_path):
    """Two videos of a generic dataset, each its own chunk, through the face stages; then one
    frame of video a is overwritten with other content and an older time: the dry run plans a's
    chunk of detect_landmarks and align_faces (and the QC table over both), not b's."""
    root = tmp_path / "g"
    rows = []
    for k, (video, emotion) in enumerate([("a", "happiness"), ("b", "surprise")]):
        _face_frames(root / video, 6, k)
        rows.append({"subject": f"s{k}", "video": video, "onset": 1, "apex": 3, "offset": 6, "type": "micro", "emotion": emotion})
    pd.DataFrame(rows).to_csv(tmp_path / "g.csv", index=False)
    cfg = yaml.safe_load((REPO / "tests/configs/tiny.yaml").read_text())
    cfg["datasets"] = {"g": {"format": "generic", "root": str(root), "annotations": str(tmp_path / "g.csv"), "fps": 30.0, "task": "recognition"}}
    cfg["batching"] = {"clips_per_job": 1}
    work = tmp_path / "work"
    (work / "config").mkdir(parents=True)
    (work / "config/config.yaml").write_text(yaml.safe_dump(cfg))
    snakemake(work, TARGET)
    out = snakemake(work, "-n", TARGET)
    assert "Nothing to be done" in out.stdout + out.stderr  # the paired case: nothing changed, nothing reruns
    chunk_a = next((work / "results/landmarks/g").glob("*/a.json")).parent.name

    frame = root / "a/frame_00003.png"
    t = frame.stat().st_mtime_ns - 3600 * 10**9  # an hour older than it was
    img = cv2.imread(str(frame), cv2.IMREAD_GRAYSCALE)
    cv2.imwrite(str(frame), 255 - img)
    os.utime(frame, ns=(t, t))
    dry = snakemake(work, "-n", TARGET)
    text = dry.stdout + dry.stderr
    assert planned_jobs(text) == {"detect_landmarks": 1, "align_faces": 1, "qc_faces": 1}, text[-3000:]
    chunks = re.findall(r"rule detect_landmarks:.*?wildcards: dataset=g, chunk=(\d+)", text, re.S)
    assert chunks == [chunk_a], text[-3000:]
