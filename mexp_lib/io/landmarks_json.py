"""Landmark JSON, one file per video (schema ``mexp.landmarks/1``).

::

    {
      "schema": "mexp.landmarks/1",
      "video": "sub01_EP01_01", "source": "<frames folder or video file>",
      "backend": "dlib", "strategy": "clip" | "long", "image_size": [H, W],
      "params": {...},                          # the face-stage settings used
      "frames": [
        {"index": 0,                            # 0-based position in the video
         "number": 46,                          # frame number as the annotation sheet counts
         "bbox": [x0, y0, x1, y1] | null,       # detector box, pixels
         "score": 1.23 | null,                  # detector score
         "points": [[x, y], ... 68 ...],        # iBUG 68-point layout, pixels
         "how": "detected" | "tracked" | "interpolated" | "reference"}
      ]
    }

``how``: ``detected`` -- found by the detector on this frame; ``reference`` -- copied from the
reference (onset) frame of a short clip; ``tracked`` -- followed from the previous frame by the
tracker of the long-video strategy; ``interpolated`` -- the face was lost on this frame and its
points are filled from the neighbouring frames. In long videos ``points`` are the fused,
smoothed trajectory (see :func:`mexp_lib.face.landmarks.track_landmarks`), ``bbox`` and
``score`` the raw detection where there was one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mexp_lib.errors import DataError
from mexp_lib.io.atomic import write_json

SCHEMA = "mexp.landmarks/1"
HOW = ("detected", "tracked", "interpolated", "reference")


@dataclass
class VideoLandmarks:
    """Landmarks of every frame of one video. ``points``: (T, 68, 2) float32 pixels."""

    video: str
    source: str
    backend: str
    strategy: str
    image_size: tuple[int, int]
    numbers: np.ndarray  # (T,) int
    points: np.ndarray  # (T, 68, 2)
    bboxes: np.ndarray  # (T, 4), NaN where none
    scores: np.ndarray  # (T,), NaN where none
    how: list[str]
    params: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        frames = []
        for i in range(len(self.numbers)):
            box = None if np.isnan(self.bboxes[i]).any() else [round(float(v), 2) for v in self.bboxes[i]]
            score = None if np.isnan(self.scores[i]) else round(float(self.scores[i]), 4)
            frames.append(
                {
                    "index": i,
                    "number": int(self.numbers[i]),
                    "bbox": box,
                    "score": score,
                    "points": np.round(self.points[i].astype(np.float64), 3).tolist(),
                    "how": self.how[i],
                }
            )
        return {
            "schema": SCHEMA,
            "video": self.video,
            "source": self.source,
            "backend": self.backend,
            "strategy": self.strategy,
            "image_size": list(self.image_size),
            "params": self.params,
            "frames": frames,
        }


def write_landmarks(lm: VideoLandmarks, path: str | Path) -> None:
    """Write ``lm`` to ``path`` atomically."""
    write_json(lm.to_json(), path)


def read_landmarks(path: str | Path) -> VideoLandmarks:
    """Read a landmark JSON written by :func:`write_landmarks`; errors name the file and frame."""
    p = Path(path)
    try:
        d = json.loads(p.read_text())
    except (OSError, ValueError) as e:  # missing, not JSON (JSONDecodeError), not text (UnicodeDecodeError)
        raise DataError(f"{p}: cannot read landmark JSON ({e})") from e
    schema = d.get("schema") if isinstance(d, dict) else None
    if schema != SCHEMA:
        raise DataError(f"{p}: schema is {schema!r}, expected {SCHEMA!r} (not a landmark file written by mexp)")
    try:
        return _parse(p, d)
    except KeyError as e:
        raise DataError(f"{p}: missing key {e.args[0]!r} (schema {SCHEMA})") from None
    except (TypeError, ValueError, IndexError) as e:
        raise DataError(f"{p}: malformed landmark JSON ({e})") from None


def _parse(p: Path, d: dict[str, Any]) -> VideoLandmarks:
    frames = d["frames"]
    if not frames:
        raise DataError(f"{p}: holds no frames")
    pts = np.full((len(frames), 68, 2), np.nan, np.float32)
    boxes = np.full((len(frames), 4), np.nan, np.float32)
    scores = np.full(len(frames), np.nan, np.float32)
    how = []
    for i, f in enumerate(frames):
        arr = np.asarray(f["points"], np.float32)
        if arr.shape != (68, 2):
            raise DataError(f"{p}: frame {i} has points of shape {arr.shape}, expected (68, 2)")
        if f["how"] not in HOW:
            raise DataError(f"{p}: frame {i} has how={f['how']!r}, expected one of {HOW}")
        pts[i] = arr
        if f["bbox"] is not None:
            boxes[i] = f["bbox"]
        if f["score"] is not None:
            scores[i] = f["score"]
        how.append(f["how"])
    return VideoLandmarks(
        video=d["video"],
        source=d["source"],
        backend=d["backend"],
        strategy=d["strategy"],
        image_size=(int(d["image_size"][0]), int(d["image_size"][1])),
        numbers=np.asarray([f["number"] for f in frames], np.int64),
        points=pts,
        bboxes=boxes,
        scores=scores,
        how=how,
        params=d.get("params", {}),
    )
