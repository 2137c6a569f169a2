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
