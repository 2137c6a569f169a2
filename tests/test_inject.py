"""Expressions injected into real face video (mexp_lib.datasets.inject): where, how much, and
nothing else touched."""

from __future__ import annotations

import numpy as np
import pytest

from mexp_lib.datasets.demo_render import AU_POINTS
from mexp_lib.datasets.inject import Injection, inject_frames, injection_sheet, plan_injections


def face(scale: float = 1.0, size: int = 200):
    """A textured frame and a 68-point face whose outer eye corners are 80 x ``scale`` px apart
    (landmarks spread over the face box: only their geometry matters here)."""
    rng = np.random.default_rng(0)
    img = (rng.random((size, size)) * 255).astype(np.uint8)
    import cv2

    img = cv2.GaussianBlur(img, (0, 0), 2)
    lm = np.zeros((68, 2))
    lm[:, 0] = np.linspace(-0.5, 0.5, 68)
    lm[:, 1] = np.tile(np.linspace(-0.5, 0.5, 17), 4)
    lm[36], lm[45] = (-0.5, -0.2), (0.5, -0.2)
    return img, lm * 80 * scale + size / 2


def moved(scale: float) -> float:
    """Largest grey-level change of the apex frame of a 2 px happiness injection."""
    img, lm = face(scale)
    pts = np.repeat(lm[None], 9, axis=0)
    inj = [Injection("micro", "happiness", 2, 4, 6, 2.0)]
    frames = list(inject_frames([img] * 9, pts, inj))
    return float(np.abs(frames[4].astype(float) - img).max())


def test_only_the_injected_frames_change():
    img, lm = face()
    pts = np.repeat(lm[None], 10, axis=0)
    frames = list(inject_frames([img] * 10, pts, [Injection("micro", "surprise", 3, 5, 7, 2.0)]))
    changed = [i for i, f in enumerate(frames) if not np.array_equal(f, img)]
    assert changed and min(changed) > 3 and max(changed) < 7  # the profile is 0 at onset and offset
    assert 5 in changed


def test_frames_without_landmarks_are_not_warped():
    img, lm = face()
    pts = np.repeat(lm[None], 10, axis=0)
    pts[5] = np.nan
    frames = list(inject_frames([img] * 10, pts, [Injection("micro", "surprise", 3, 5, 7, 2.0)]))
    assert np.array_equal(frames[5], img) and not np.array_equal(frames[4], img)


def test_amplitude_follows_the_face_size():
    """The same amplitude moves a face twice as large about twice as far (in grey levels of a
    smooth texture, more change); a zero amplitude changes nothing."""
    assert moved(2.0) > moved(1.0) > 0
    img, lm = face()
    out = list(inject_frames([img] * 9, np.repeat(lm[None], 9, axis=0), [Injection("micro", "happiness", 2, 4, 6, 0.0)]))
    assert all(np.array_equal(f, img) for f in out)


@pytest.mark.parametrize("usable_from", [0, 50])
def test_plan_keeps_to_usable_frames_and_apart(usable_from):
    usable = np.zeros(600, bool)
    usable[usable_from:] = True
    inj = plan_injections(usable, 30.0, np.random.default_rng(1), micro=3, macro=2)
    assert len(inj) == 5
    for e in inj:
        assert e.onset >= usable_from + 24 and e.onset < e.apex < e.offset < 600
    for a, b in zip(inj, inj[1:], strict=False):
        assert b.onset - a.offset >= 24
    sheet = injection_sheet("v", "s", inj)
    assert list(sheet.onset) == [e.onset + 1 for e in inj] and set(sheet.type) <= {"micro", "macro"}


def test_plan_gives_fewer_when_they_do_not_fit():
    usable = np.ones(60, bool)
    assert len(plan_injections(usable, 30.0, np.random.default_rng(1), micro=3, macro=3)) < 6


def test_au_points_exist_for_every_injected_emotion():
    assert {"6", "12", "4", "9", "1", "2"} <= set(AU_POINTS)


def test_the_aligned_crop_moves_alike_whatever_the_face_size():
    """An amplitude means the same motion in the aligned face crop (the face stage's transform)
    for a face of any size in the frame: the same face twice as large (frame and landmarks scaled
    by 2) changes its crop as much under the same injection (the semi-synthetic benchmark compares
    injected and rendered expressions of equal amplitude)."""
    import cv2

    from mexp_lib.face.align import face_transform, warp_face

    img1, lm1 = face(1.0)
    changes = []
    for k in (1, 2):
        img = cv2.resize(img1, None, fx=k, fy=k, interpolation=cv2.INTER_CUBIC)
        lm = (lm1 + 0.5) * k - 0.5
        out = list(inject_frames([img] * 9, np.repeat(lm[None], 9, axis=0), [Injection("micro", "happiness", 2, 4, 6, 3.0)]))[4]
        m = face_transform(lm, 128, 0.1)
        changes.append(float(np.abs(warp_face(out, m, 128).astype(float) - warp_face(img, m, 128)).mean()))
    assert changes[0] > 0.05 and 0.8 < changes[1] / changes[0] < 1.25, changes
