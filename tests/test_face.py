"""Face stage: dlib landmarks on a real photograph, alignment, missing faces."""

import cv2
import numpy as np
import pytest

from mexp_lib.errors import NoFaceError
from mexp_lib.face.align import STABLE, apply_transform, face_transform, template_points
from mexp_lib.face.landmarks import DlibLandmarker, plausible
from mexp_lib.face.stage import detect_landmarks
from mexp_lib.io.landmarks_json import read_landmarks
from mexp_lib.io.skip import skip_reason


@pytest.fixture(scope="module")
def landmarker():
    return DlibLandmarker(upsample=0)


def test_landmarks_on_the_demo_photograph(landmarker, demo_face):
    img, lm_ref = demo_face
    grey = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2GRAY)
    det = landmarker.detect(grey)
    assert det is not None and plausible(det.points)
    assert np.abs(det.points - lm_ref).mean() < 2.0


def test_tight_crop_is_retried(landmarker, demo_face):
    img, lm = demo_face
    x0, y0 = lm.min(0).astype(int) - 4
    x1, y1 = lm.max(0).astype(int) + 4
    crop = cv2.cvtColor(img[y0:y1, x0:x1].astype(np.uint8), cv2.COLOR_BGR2GRAY)
    assert landmarker.detect(crop) is not None


def test_plausibility_rejects_an_upside_down_shape(demo_face):
    _, lm = demo_face
    assert plausible(lm)
    assert not plausible(lm * [1, -1])


def test_alignment_maps_stable_points_onto_the_template(demo_face):
    _, lm = demo_face
    m = face_transform(lm, 128, 0.1)
    err = np.linalg.norm(apply_transform(m, lm[STABLE]) - template_points(128, 0.1), axis=1)
    assert err.mean() < 3.0


@pytest.mark.parametrize("policy", ["error", "skip"])
def test_video_without_a_face(tmp_path, policy):
    d = tmp_path / "blank"
    d.mkdir()
    for i in range(3):
        cv2.imwrite(str(d / f"{i}.png"), np.full((64, 64), 128, np.uint8))
    out = tmp_path / "blank.json"
    cfg = {"backend": "dlib", "on_missing_face": policy}
    if policy == "error":
        with pytest.raises(NoFaceError, match="blank"):
            detect_landmarks(str(d), video="blank", numbering="position", strategy="clip", face_cfg=cfg, out=out)
        assert not out.exists()
    else:
        detect_landmarks(str(d), video="blank", numbering="position", strategy="clip", face_cfg=cfg, out=out)
        assert "no face found" in skip_reason(out)


def test_clip_strategy_uses_one_reference(tmp_path, demo_face):
    img, _ = demo_face
    d = tmp_path / "clip"
    d.mkdir()
    for i in range(4):
        cv2.imwrite(str(d / f"img{5 + i}.png"), img.astype(np.uint8))
    out = tmp_path / "clip.json"
    detect_landmarks(str(d), video="clip", numbering="filename", strategy="clip", face_cfg={"backend": "dlib"}, out=out)
    lm = read_landmarks(out)
    assert lm.how == ["detected", "reference", "reference", "reference"]
    assert lm.numbers.tolist() == [5, 6, 7, 8]


def _sane(points: np.ndarray, width: float) -> bool:
    """Geometry of a 68-point shape checked here on its own: eyes above the nose tip above the
    mouth, left eye left of right eye, inter-ocular distance 25-60% of the image width."""
    eye_l, eye_r = points[36:42].mean(0), points[42:48].mean(0)
    iod = np.linalg.norm(eye_r - eye_l)
    return bool(eye_l[0] < eye_r[0] and max(eye_l[1], eye_r[1]) < points[30, 1] < points[48:68, 1].mean() and 0.25 < iod / width < 0.6)


def test_real_apex_faces_of_the_composite_are_found(landmarker, real):
    """The 442 real 224 px apex crops of CASME II, SAMM and SMIC (HTNet's combined_datasets_whole)."""
    files = sorted((real / "wangzhifengharrison__HTNet/combined_datasets_whole").glob("*.jpg"))
    assert len(files) == 442
    found, sane = 0, 0
    for f in files:
        grey = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
        det = landmarker.detect(grey)
        if det is not None:
            found += 1
            assert det.points.shape == (68, 2)
            sane += _sane(det.points, grey.shape[1])
    assert found / len(files) >= 0.98, f"found a face in {found} of {len(files)}"
    assert sane == found, "every found face passes the geometric check"


def test_no_face_in_clutter(landmarker):
    """The tight-crop fallback does not turn textured non-face images into faces."""
    from skimage import data

    for name in ("text", "gravel", "rocket", "brick", "chelsea", "coffee"):  # (coins: Roman coins show heads)
        img = getattr(data, name)()
        grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img
        for g in (grey, cv2.resize(grey, (224, 224))):
            assert landmarker.detect(np.ascontiguousarray(g)) is None, name


def test_fan_backend_says_which_weights_are_missing(tmp_path, monkeypatch):
    import torch.hub

    from mexp_lib.errors import ConfigError
    from mexp_lib.face.landmarks import make_landmarker

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    with pytest.raises(ConfigError, match=r"2DFAN4-11f355bf06.pth.tar are not in face-alignment's cache .*hub/checkpoints.*downloads nothing"):
        make_landmarker({"backend": "face_alignment"})
    with pytest.raises(ConfigError, match=r"face.fan_weights: .*nope.pth.tar not found"):
        make_landmarker({"backend": "face_alignment", "fan_weights": str(tmp_path / "nope.pth.tar")})


@pytest.fixture(scope="module")
def random_fan(tmp_path_factory):
    """A randomly initialised 2D-FAN saved as face-alignment's weight file (the real weights
    are not downloadable here): proves the backend loads, runs and never reaches the network."""
    import torch
    from face_alignment.models import FAN

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("fan") / "2DFAN4-11f355bf06.pth.tar"
    torch.save(FAN(4).state_dict(), path)
    return path


def test_fan_backend_runs_offline_on_dlib_boxes(random_fan, demo_face, tmp_path):
    import torch

    from mexp_lib.errors import ConfigError
    from mexp_lib.face.landmarks import FanLandmarker, make_landmarker

    grey = cv2.cvtColor(demo_face[0].astype(np.uint8), cv2.COLOR_BGR2GRAY)
    fan = make_landmarker({"backend": "face_alignment", "fan_weights": str(random_fan)})
    assert isinstance(fan, FanLandmarker) and fan._fa.face_alignment_net.__class__.__name__ == "FAN", "not compiled"
    box = fan.boxes.detect(grey).bbox
    pts = fan._fa.get_landmarks_from_image(np.dstack([grey] * 3), detected_faces=[box.astype(np.float64)])[0]
    assert pts.shape == (68, 2)
    w = box[2] - box[0]
    assert (pts[:, 0] > box[0] - w).all() and (pts[:, 0] < box[2] + w).all(), "FAN's points lie around the given face box"
    det = fan.detect(grey)  # random weights: a garbage shape must be refused, never returned
    assert det is None or plausible(det.points)
    torch.save({"weight": torch.zeros(3)}, tmp_path / "other.pth.tar")
    with pytest.raises(ConfigError, match="other.pth.tar: not 2D-FAN weights"):
        make_landmarker({"backend": "face_alignment", "fan_weights": str(tmp_path / "other.pth.tar")})


def _still_face_video(demo_face, n=200, noise=2.0, seed=0):
    """A still face in a 640x480 frame, only sensor noise changing: (frames, true landmarks)."""
    img, lm = demo_face
    canvas = np.full((480, 640), 90, np.float32)
    grey = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2GRAY).astype(np.float32)
    canvas[140:140 + grey.shape[0], 220:220 + grey.shape[1]] = grey
    rng = np.random.default_rng(seed)
    frames = [np.clip(canvas + rng.normal(0, noise, canvas.shape), 0, 255).astype(np.uint8) for _ in range(n)]
    return frames, lm + (220, 140)


def test_long_video_strategy_keeps_a_still_face_still(landmarker, demo_face):
    from mexp_lib.face.align import STABLE, apply_transform, face_transform
    from mexp_lib.face.landmarks import track_landmarks
    from mexp_lib.face.qc import crop_jitter

    frames, truth = _still_face_video(demo_face)
    pts, boxes, _, how = track_landmarks(iter(frames), len(frames), landmarker, detect_every=10, smooth=5)
    assert how.count("detected") == 20 and how.count("tracked") == 180
    # the crop window, evaluated at the true (fixed) points of the face, frame to frame
    ms = [face_transform(p, 128, 0.1) for p in pts]
    moves = np.array([apply_transform(ms[i], truth[STABLE]) - apply_transform(ms[i - 1], truth[STABLE]) for i in range(1, len(ms))])
    rms = float(np.sqrt((moves ** 2).sum(-1).mean()))
    assert rms < 0.1, f"aligned crop moves {rms:.3f} px RMS frame to frame"
    assert abs(crop_jitter(pts) - rms) < 0.02
    # and sits where the true landmarks put it
    assert np.abs(pts[:, STABLE] - truth[STABLE]).mean() < 2.0


def test_long_video_strategy_follows_a_moving_face_and_recovers(landmarker, demo_face):
    """A face sliding 3 px per frame is followed by the track between detections; frames where
    the face disappears are marked missing and the face is re-detected when it returns."""
    from mexp_lib.face.align import STABLE
    from mexp_lib.face.landmarks import track_landmarks

    img, lm = demo_face
    grey = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2GRAY)
    frames, truth = [], []
    for i in range(40):
        canvas = np.full((480, 640), 90, np.uint8)
        x = 120 + 3 * i
        if not 20 <= i < 25:  # the face leaves the frame for 5 frames
            canvas[140:140 + grey.shape[0], x:x + grey.shape[1]] = grey
        frames.append(canvas)
        truth.append(lm + (x, 140))
    pts, _, _, how = track_landmarks(iter(frames), len(frames), landmarker, detect_every=10, smooth=3)
    assert all(h == "missing" for h in how[20:25]) and how[25] == "detected", how[18:27]
    seen = [i for i in range(40) if how[i] != "missing"]
    err = np.abs(pts[seen][:, STABLE] - np.array(truth)[seen][:, STABLE]).mean()
    assert err < 2.0, f"mean stable-point error {err:.2f} px on a face moving 3 px/frame"
