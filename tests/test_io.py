"""File formats: atomic writes, frames, landmark JSON, HDF5 stores."""

import json
import os
import stat

import cv2
import h5py
import numpy as np
import pytest

from mexp_lib.errors import DataError
from mexp_lib.io.atomic import atomic_path, current_umask, write_json
from mexp_lib.io.frames import open_frames
from mexp_lib.io.h5store import read_arrays, read_attrs, write_store
from mexp_lib.io.landmarks_json import VideoLandmarks, read_landmarks, write_landmarks


def test_atomic_write_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out.json"
    write_json({"a": 1}, target)
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert json.loads(target.read_text()) == {"a": 1}, "the earlier output must survive"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


@pytest.mark.parametrize("umask, file_mode, dir_mode", [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700), (0o002, 0o664, 0o775)])
def test_atomic_outputs_follow_the_umask(tmp_path, umask, file_mode, dir_mode):
    """Outputs are readable by lab-mates under umask 022 (tempfile alone would make them 0600 / 0700)."""
    old = os.umask(umask)
    try:
        write_json({"a": 1}, tmp_path / "out.json")
        with atomic_path(tmp_path / "store.h5") as tmp:
            with h5py.File(tmp, "w") as f:
                f["x"] = np.zeros(2)
        with atomic_path(tmp_path / "folder", directory=True) as tmp:
            (tmp / "page.png").write_bytes(b"x")
        assert current_umask() == umask
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.json").stat().st_mode) == file_mode
    assert stat.S_IMODE((tmp_path / "store.h5").stat().st_mode) == file_mode
    assert stat.S_IMODE((tmp_path / "folder").stat().st_mode) == dir_mode


def _frames(tmp_path, n=3, names=None):
    d = tmp_path / "vid"
    d.mkdir()
    for i, name in enumerate(names or [f"img{10 + i}.png" for i in range(n)]):
        cv2.imwrite(str(d / name), np.full((8, 8), i * 10, np.uint8))
    return d


def test_frames_natural_order_and_numbering(tmp_path):
    d = _frames(tmp_path, names=["img9.png", "img10.png", "img100.png"])
    src = open_frames(d, numbering="filename")
    assert src.numbers.tolist() == [9, 10, 100]
    assert open_frames(d).numbers.tolist() == [1, 2, 3]
    assert src.index_of(10) == 1
    with pytest.raises(DataError, match="no frame numbered 11"):
        src.index_of(11)


@pytest.mark.parametrize("case", ["missing", "empty", "corrupt"])
def test_bad_frames_name_the_path(tmp_path, case):
    if case == "missing":
        with pytest.raises(DataError, match="no such frames folder"):
            open_frames(tmp_path / "nope")
    elif case == "empty":
        (tmp_path / "e").mkdir()
        with pytest.raises(DataError, match="holds no image frames"):
            open_frames(tmp_path / "e")
    else:
        d = _frames(tmp_path)
        (d / "img11.png").write_bytes(b"not a png")
        with pytest.raises(DataError, match=r"img11.png: frame 1 cannot be read"):
            open_frames(d).read(1)


def test_landmark_json_roundtrip_and_schema(tmp_path):
    lm = VideoLandmarks("v", "src", "dlib", "long", (64, 64), np.array([1, 2]), np.random.rand(2, 68, 2).astype(np.float32) * 60,
                        np.array([[1, 2, 3, 4], [np.nan] * 4], np.float32), np.array([0.5, np.nan], np.float32), ["detected", "interpolated"])
    p = tmp_path / "v.json"
    write_landmarks(lm, p)
    back = read_landmarks(p)
    np.testing.assert_allclose(back.points, lm.points, atol=1e-3)
    assert back.how == lm.how and np.isnan(back.bboxes[1]).all()
    d = json.loads(p.read_text())
    d["schema"] = "other/9"
    p.write_text(json.dumps(d))
    with pytest.raises(DataError, match="schema"):
        read_landmarks(p)


def test_h5_store_roundtrip_truncation_and_nan(tmp_path):
    p = tmp_path / "s.h5"
    frames = np.random.rand(4, 16, 16).astype(np.float32)
    write_store(p, {"frames": frames}, {"stage": "x"}, params={"a": 1})
    np.testing.assert_array_equal(read_arrays(p, "frames")["frames"], frames)
    assert read_attrs(p)["params"] == {"a": 1}
    with h5py.File(p, "r") as h:
        assert h["frames"].chunks == (1, 16, 16)
    data = p.read_bytes()
    (tmp_path / "t.h5").write_bytes(data[: len(data) // 3])
    with pytest.raises(DataError, match="t.h5"):
        read_arrays(tmp_path / "t.h5", "frames")
    frames[0, 0, 0] = np.nan
    with pytest.raises(DataError, match="n.h5.*NaN"):
        write_store(tmp_path / "n.h5", {"frames": frames}, {})
    assert not (tmp_path / "n.h5").exists()
