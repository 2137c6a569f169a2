"""The long-video tracker on real videos whose face is lost: a head turned to its back is not
tracked, and a stretch without a face is searched cheaply (../shared/data/real_video)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import REPO

from mexp_lib.face.landmarks import DlibLandmarker, track_landmarks
from mexp_lib.io.frames import open_frames

VIDEOS = REPO.parent / "shared" / "data" / "real_video"
TURN = VIDEOS / "pexels-8090198-sd_640_338_25fps.mp4"  # frontal to ~170, back of the head ~300-520, frontal from ~640
LEAVES = VIDEOS / "face_noface.mov"  # a face for 72 frames, then a cartoon title for 97
START, STOP = 100, 720  # the cut of TURN the tests track


@pytest.fixture(scope="module")
def landmarker():
    return DlibLandmarker(upsample=0)


def _frames(path, start, stop):
    if not path.is_file():
        pytest.fail(f"{path} is missing: the tests read the real videos from ../shared")
    return list(itertools.islice(open_frames(path).iter_frames(grey=True), start, stop))


@pytest.fixture(scope="module")
def turning(landmarker):
    return _frames(TURN, START, STOP)


def _found(how, a, b):
    """Fraction of the video's frames a..b (inclusive) where the face is held."""
    return np.mean([h != "missing" for h in how[a - START:b - START + 1]])


def test_back_of_the_head_is_not_tracked(landmarker, turning):
    _, _, _, how = track_landmarks(iter(turning), len(turning), landmarker, detect_every=10, smooth=5)
    assert _found(how, 300, 520) == 0, "frames showing the back of the head are marked not found"
    assert _found(how, 100, 160) == 1 and _found(how, 650, 719) > 0.95, "frontal frames before and after stay found"
    # the paired case: a check that accepts anything keeps "tracking" the hair (the old behaviour)
    _, _, _, lenient = track_landmarks(iter(turning), len(turning), landmarker, detect_every=10, smooth=5, min_score=-100)
    assert _found(lenient, 300, 520) > 0.9


class Counting:
    """A landmarker that counts the detector's calls by kind."""

    def __init__(self, inner):
        self.inner, self.calls = inner, {"detect": 0, "search": 0, "confirm": 0}

    def __getattr__(self, name):
        fn = getattr(self.inner, name)

        def counted(*args, **kwargs):
            self.calls[name] += 1
            return fn(*args, **kwargs)

        return counted


def test_a_lost_face_is_searched_every_few_frames(landmarker):
    """After the face leaves (frame 72 of face_noface.mov), the 97 faceless frames get one full
    detection and a cheap search every search_every frames -- not the full chain every frame."""
    frames = _frames(LEAVES, 0, 169)
    counting = Counting(landmarker)
    _, _, _, how = track_landmarks(iter(frames), len(frames), counting, detect_every=10, smooth=5, search_every=5)
    assert all(h != "missing" for h in how[:65]) and all(h == "missing" for h in how[75:])
    assert counting.calls["detect"] <= 3
    assert 97 // 5 - 1 <= counting.calls["search"] <= 7 + 97 // 5 + 2, counting.calls  # 7 checks of the track, then the search
