"""Reading a video's frames: a folder of images in name order, or a video file.

Annotation sheets number frames in one of two ways, named ``numbering``:

* ``"position"`` -- 1-based position in name order (the ``generic`` format);
* ``"filename"`` -- the last integer in the file name (CASME II ``img46.jpg``, CAS(ME)^2
  ``img1.jpg``, SAMM ``006_1_0001.jpg``): the sheets of those datasets refer to these numbers.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from mexp_lib.errors import DataError

# FFmpeg's own messages ("moov atom not found" on a truncated mp4) would precede ours on stderr;
# mexp names the file and frame itself. Set OPENCV_FFMPEG_LOGLEVEL to see them again.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".mpg", ".mpeg", ".wmv")
_NUMBER = re.compile(r"(\d+)(?!.*\d)")


def _natural_key(name: str) -> tuple[object, ...]:
    return tuple(int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name))


@dataclass(frozen=True)
class FrameSource:
    """The frames of one video. ``numbers[i]`` is the annotation frame number of frame ``i``."""

    path: Path
    files: tuple[Path, ...]  # empty for a video file
    numbers: np.ndarray  # (T,) int64
    is_video_file: bool = False

    def __len__(self) -> int:
        return len(self.numbers)

    def read(self, i: int, *, grey: bool = False) -> np.ndarray:
        """Frame ``i`` (0-based position) as uint8, (H, W) grey or (H, W, 3) BGR."""
        if self.is_video_file:
            frames = self.read_range(i, i + 1, grey=grey)
            return frames[0]
        f = self.files[i]
        img = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE if grey else cv2.IMREAD_COLOR)
        if img is None:
            raise DataError(f"{f}: frame {i} cannot be read as an image (corrupt or not an image file)")
        return img

    def read_range(self, start: int, stop: int, *, grey: bool = False) -> np.ndarray:
        """Frames ``start..stop-1`` stacked: (n, H, W) or (n, H, W, 3) uint8."""
        return np.stack(list(self._frames(start, stop, grey)))

    def iter_frames(self, *, grey: bool = False) -> Iterator[np.ndarray]:
        """Every frame in order, decoded sequentially (a video file is read once, not seeked
        per frame): memory holds one frame at a time."""
        return self._frames(0, len(self), grey)

    def _frames(self, start: int, stop: int, grey: bool) -> Iterator[np.ndarray]:
        """Frames ``start..stop-1`` one by one; a video file is opened once and read in order.
        Raises :class:`DataError` naming the frame whose size differs from the first one read."""
        first: tuple[int, ...] | None = None
        for i, img in zip(range(start, stop), self._decode(start, stop, grey), strict=False):
            if first is None:
                first = img.shape
            elif img.shape != first:
                where = self.files[i] if self.files else f"{self.path} frame {i}"
                raise DataError(f"{where}: frame size {img.shape[:2]} differs from {first[:2]} of the video's frame {start} "
                                f"({self.path}); all frames of a video must have one size")
            yield img

    def _decode(self, start: int, stop: int, grey: bool) -> Iterator[np.ndarray]:
        if not self.is_video_file:
            for i in range(start, stop):
                yield self.read(i, grey=grey)
            return
        cap = cv2.VideoCapture(str(self.path))
        try:
            for i in range(start):  # decoded, not seeked: seeking is inexact in many codecs
                if not cap.grab():
                    raise DataError(f"{self.path}: frame {i} cannot be decoded")
            for i in range(start, stop):
                ok, img = cap.read()
                if not ok:
                    raise DataError(f"{self.path}: frame {i} cannot be decoded")
                yield cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if grey else img
        finally:
            cap.release()

    def index_of(self, number: int) -> int:
        """0-based position of the frame whose annotation number is ``number``."""
        hit = np.flatnonzero(self.numbers == int(number))
        if hit.size == 0:
            raise DataError(
                f"{self.path}: no frame numbered {number} (frames are numbered "
                f"{int(self.numbers[0])}..{int(self.numbers[-1])})"
            )
        return int(hit[0])


def video_name(path: str | Path) -> str:
    """The name of the video a frames folder or video file holds: a folder's own name (resolved,
    so ``.`` names the current folder, and ``s15.take2`` keeps its dot), a video file's name
    without its video extension (``clip.mp4`` -> ``clip``)."""
    p = Path(path).resolve()
    return p.stem if p.suffix.lower() in VIDEO_EXTENSIONS and not p.is_dir() else p.name


def count_video_frames(path: Path) -> int:
    """The number of frames of a video file that actually decode. ``CAP_PROP_FRAME_COUNT`` is read
    from the container header and is wrong for a truncated or badly muxed file."""
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            return 0
        n = 0
        while cap.grab():
            n += 1
        return n
    finally:
        cap.release()


def open_frames(path: str | Path, *, numbering: str = "position") -> FrameSource:
    """Open a folder of frames (image files in natural name order) or a video file.

    Raises :class:`DataError` naming the path when it is missing, empty, or its file names carry
    no frame number under ``numbering="filename"``. A video file's frames are counted by decoding it.
    """
    p = Path(path)
    if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS:
        n = count_video_frames(p)
        if n <= 0:
            raise DataError(f"{p}: video file has no decodable frames")
        return FrameSource(p, (), np.arange(1, n + 1, dtype=np.int64), is_video_file=True)
    if p.is_file():
        raise DataError(f"{p}: a file that is not a video ({', '.join(VIDEO_EXTENSIONS)}); give a frames folder or a video file")
    if not p.is_dir():
        raise DataError(f"{p}: no such frames folder or video file")
    files = sorted((f for f in p.iterdir() if f.suffix.lower() in IMAGE_EXTENSIONS), key=lambda f: _natural_key(f.name))
    if not files:
        raise DataError(f"{p}: folder holds no image frames ({', '.join(IMAGE_EXTENSIONS)})")
    by_stem: dict[str, Path] = {}
    for f in files:  # img001.jpg + img001.png: one frame twice, positions shifted
        if (twin := by_stem.setdefault(f.stem.lower(), f)) is not f:
            raise DataError(f"{p}: {twin.name} and {f.name} are one frame saved twice (same name, two image types); keep one")
    numbers: np.ndarray
    if numbering == "position":
        numbers = np.arange(1, len(files) + 1, dtype=np.int64)
    elif numbering == "filename":
        nums = []
        for f in files:
            m = _NUMBER.search(f.stem)
            if m is None:
                raise DataError(f"{f}: file name carries no frame number (numbering: filename)")
            nums.append(int(m.group(1)))
        numbers = np.asarray(nums, dtype=np.int64)
        if len(np.unique(numbers)) != len(numbers):
            raise DataError(f"{p}: two frames carry the same number in their file names")
    else:
        raise ValueError(f"unknown frame numbering {numbering!r} (position|filename)")
    return FrameSource(p, tuple(files), numbers)
