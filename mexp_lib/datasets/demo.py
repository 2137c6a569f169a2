"""The embedded ``demo`` dataset: a real face photograph, animated.

The base face is the astronaut photograph (Eileen Collins, NASA, public domain) that ships with
scikit-image. Subjects are made from it by geometric (similarity + smooth warp) and photometric
(gain, gamma, tint) variation. Expressions are localised, AU-like displacement fields anchored on
the face's 68 landmarks (found with the same dlib backend the workflow uses):

=========== ============================ ==================
emotion     action units                 composite3 class
=========== ============================ ==================
happiness   AU6 cheek raiser, AU12       positive
disgust     AU4 brow lowerer, AU9, AU10  negative
surprise    AU1+AU2 brow raise, AU26     surprise
=========== ============================ ==================

Micro-expressions move 0.5-3 px and last at most 0.5 s (raised-cosine onset -> apex -> offset);
macro-expressions (long videos only) are larger and longer. Distractors: blinks (AU45), slow head
translation/rotation, sensor noise and illumination drift. Two harder settings of the short clips,
off by default: ``clip_overlap`` (a weaker movement of another class overlapping the expression in
time, not annotated) and ``clip_drift`` (head drift scaled to the expression's amplitude).

On disk the demo imitates real datasets so that the real loaders read it:

* short clips, CASME II style: ``<root>/CASME2_RAW_selected/sub01/EP01_01/img<N>.png`` and the
  coding sheet ``<root>/CASME2-coding-demo.xlsx`` (frame numbers are file numbers);
* long videos, CAS(ME)^2 style: ``<root>/rawpic/s15/15_0101demo/img<N>.png`` and the headerless
  ``code_final`` workbook ``<root>/CASME_sq-code_final-demo.xlsx`` with its naming-rule sheets.

:func:`plan_demo` decides everything from the config (seed, sizes) without touching the disk, so
the workflow knows the demo's samples before it exists; :func:`generate_demo` renders it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd

from mexp_lib.datasets.table import SAMPLE_COLUMNS
from mexp_lib.io.atomic import atomic_path, write_csv
from mexp_lib.log import progress

logger = logging.getLogger(__name__)

CLIP_SHEET = "CASME2-coding-demo.xlsx"
LONG_SHEET = "CASME_sq-code_final-demo.xlsx"
CLIP_DIR = "CASME2_RAW_selected"
LONG_DIR = "rawpic"
EMOTIONS = ("happiness", "disgust", "surprise")
OBJECTIVE = {"happiness": "positive", "disgust": "negative", "surprise": "surprise"}
EMOTION_AUS = {"happiness": "6+12", "disgust": "4+9+10", "surprise": "1+2+26"}
VIDEO_CODES = [("0101", "disgust1"), ("0102", "disgust2"), ("0401", "anger1"), ("0402", "anger2"), ("0502", "happy1")]

DEFAULTS: dict[str, Any] = {
    "seed": 7,
    "subjects": 10,
    "clips_per_class": 2,
    "frame_size": 192,
    "clip_fps": 60.0,
    "long_videos_per_subject": 1,
    "long_fps": 30.0,
    "long_seconds": 30.0,
    "micro_per_long": 3,
    "macro_per_long": 2,
    "micro_amplitude": [0.8, 3.0],
    "macro_amplitude": [3.5, 7.0],
    "noise_sigma": 1.5,
    "jpeg_quality": None,
    "micro_seconds": [0.25, 0.5],
    "macro_seconds": [0.8, 1.8],
    "faces": None,
    "face_subjects": None,
    "head_motion": 1.0,
    "expression_span": [0.0, 1.0],
    "clip_overlap": None,
    "clip_drift": None,
    # long videos only (the stress sweep's factors); the defaults render what earlier versions did
    "head_rotation": None,
    "blink_interval": [1.5, 4.0],
    "expressions_per_minute": None,
    "nuisance_per_minute": 0.0,
    "nuisance_kinds": ["talking", "swallowing", "gaze"],
    "nuisance_amplitude": [1.0, 3.0],
}
# Non-expression facial motion of long videos: localised motions with their own timing, planned
# away from the expressions like blinks and never annotated. kind -> (seconds range, profile)
NUISANCE: dict[str, tuple[tuple[float, float], str]] = {
    "talking": ((1.0, 3.0), "oscillating"),  # the jaw and lips open and close at 3-5 Hz
    "swallowing": ((0.4, 0.8), "bump"),  # the chin and throat rise and fall once
    "gaze": ((0.6, 2.0), "hold"),  # the eyes turn aside, hold, and come back
}
NON_EXPRESSION = ("blink", "nuisance", "overlap")

# AU -> [(landmark index, (dx, dy))]; directions in image coordinates (y down).
AU_POINTS: dict[str, list[tuple[int, tuple[float, float]]]] = {
    "1": [(21, (0, -1)), (22, (0, -1)), (20, (0, -0.7)), (23, (0, -0.7))],
    "2": [(17, (0, -0.8)), (18, (0, -1)), (25, (0, -1)), (26, (0, -0.8))],
    "4": [(19, (0.3, 0.8)), (20, (0.5, 1)), (21, (0.6, 1)), (22, (-0.6, 1)), (23, (-0.5, 1)), (24, (-0.3, 0.8))],
    "6": [(40, (0, -0.6)), (41, (0, -0.6)), (46, (0, -0.6)), (47, (0, -0.6)), (1, (0.2, -0.8)), (15, (-0.2, -0.8))],
    "9": [(31, (0, -1)), (35, (0, -1)), (29, (0, -0.6))],
    "10": [(50, (0, -1)), (51, (0, -1)), (52, (0, -1))],
    "12": [(48, (-0.7, -0.7)), (54, (0.7, -0.7)), (49, (-0.3, -0.4)), (53, (0.3, -0.4))],
    "26": [(57, (0, 1)), (8, (0, 1)), (56, (0, 0.9)), (58, (0, 0.9)), (7, (0, 0.8)), (9, (0, 0.8))],
    "45": [(37, (0, 1)), (38, (0, 1)), (43, (0, 1)), (44, (0, 1))],
}
AU_WEIGHTS = {
    "happiness": {"6": 0.5, "12": 1.0},
    "disgust": {"4": 0.7, "9": 1.0, "10": 0.6},
    "surprise": {"1": 1.0, "2": 0.8, "26": 0.6},
}


@dataclass
class Event:
    """One expression or blink: frame positions (0-based) and peak displacement in pixels."""

    kind: str  # emotion name or "blink"
    type: str  # micro | macro | blink | overlap (a weaker movement under a clip's expression, not annotated)
    onset: int
    apex: int
    offset: int
    amplitude: float
    hz: float = 0.0  # nuisance "talking": the frequency of the mouth's opening and closing


@dataclass
class VideoPlan:
    subject: int  # 0-based identity index
    video: str  # video id in the sample table
    folder: str  # frames folder relative to root
    n_frames: int
    first_number: int  # file number of the first frame
    fps: float
    events: list[Event] = field(default_factory=list)
    seed: int = 0
    drift: float | None = None  # short clips: head translation amplitude, px (None: the fixed 0.3 px)


def settings(gen: dict[str, Any] | None) -> dict[str, Any]:
    """Generator settings: ``DEFAULTS`` updated with the config's ``generator`` block."""
    out = dict(DEFAULTS)
    out.update(gen or {})
    return out


def _profile(n: int, ev: Event) -> np.ndarray:
    """Raised-cosine activation (0 -> 1 at apex -> 0) over frames 0..n-1."""
    t = np.arange(n, dtype=np.float64)
    s = np.zeros(n)
    rise = max(ev.apex - ev.onset, 1)
    fall = max(ev.offset - ev.apex, 1)
    up = (t >= ev.onset) & (t <= ev.apex)
    s[up] = 0.5 - 0.5 * np.cos(np.pi * (t[up] - ev.onset) / rise)
    down = (t > ev.apex) & (t <= ev.offset)
    s[down] = 0.5 + 0.5 * np.cos(np.pi * (t[down] - ev.apex) / fall)
    return s


def _event_profile(n: int, ev: Event, fps: float) -> np.ndarray:
    """The activation (0..1) of one event over frames 0..n-1: the raised cosine of
    :func:`_profile`; a gaze shift holds its apex between a quick turn and return (0.1 s each);
    talking opens and closes at ``ev.hz`` inside a raised-cosine envelope."""
    if ev.type != "nuisance" or NUISANCE[ev.kind][1] == "bump":
        return _profile(n, ev)
    if NUISANCE[ev.kind][1] == "hold":
        turn = max(1, int(round(0.1 * fps)))
        t = np.arange(n)
        up = np.clip((t - ev.onset) / turn, 0, 1)
        down = np.clip((ev.offset - t) / turn, 0, 1)
        s = 0.5 - 0.5 * np.cos(np.pi * np.minimum(up, down))
        s[(t < ev.onset) | (t > ev.offset)] = 0.0
        return s
    t = np.arange(n, dtype=np.float64)
    env = _profile(n, ev)
    return env * (0.5 - 0.5 * np.cos(2 * np.pi * ev.hz * (t - ev.onset) / fps))


def plan_nuisance(g: dict[str, Any], n: int, fps: float, busy: np.ndarray, rng: np.random.Generator) -> list[Event]:
    """Non-expression motions of one long video: ``nuisance_per_minute`` of them on average
    (Poisson), kinds drawn from ``nuisance_kinds``, each placed where no expression is
    (``busy``: frames an expression occupies, with margins) and no other motion is."""
    rate = float(g.get("nuisance_per_minute") or 0.0)
    kinds = list(g.get("nuisance_kinds") or [])
    unknown = sorted(set(kinds) - set(NUISANCE))
    if unknown:
        from mexp_lib.errors import ConfigError

        raise ConfigError(f"generator.nuisance_kinds: unknown {unknown}; known: {sorted(NUISANCE)}")
    if rate <= 0 or not kinds:
        return []
    taken = busy.copy()
    out = []
    for _ in range(int(rng.poisson(rate * n / fps / 60.0))):
        kind = kinds[int(rng.integers(len(kinds)))]
        d = max(3, int(round(fps * rng.uniform(*NUISANCE[kind][0]))))
        for _try in range(50):
            st = int(rng.integers(0, max(1, n - d)))
            if not taken[max(0, st - 2): st + d + 3].any():
                break
        else:
            continue
        taken[st: st + d + 1] = True
        out.append(Event(kind, "nuisance", st, st + d // 2, min(n - 1, st + d), float(rng.uniform(*g["nuisance_amplitude"])),
                         hz=float(rng.uniform(3.0, 5.0))))
    return out


def _place(rng: np.random.Generator, n: int, lengths: list[int], gap: int) -> list[int] | None:
    """Random start positions (in the order of ``lengths``) for non-overlapping intervals of
    ``lengths`` frames, at least ``gap`` frames apart and from the ends."""
    for _ in range(200):
        starts = [int(rng.integers(gap, max(gap + 1, n - L - gap))) for L in lengths]
        spans = sorted(zip(starts, lengths, strict=True))
        apart = all(s1 >= s0 + l0 + gap for (s0, l0), (s1, _) in zip(spans, spans[1:], strict=False))
        if apart and all(s + L + gap <= n for s, L in spans):
            return starts
    return None


def _pack(rng: np.random.Generator, n: int, lengths: list[int], gap: int) -> list[int] | None:
    """Like :func:`_place` for crowded videos, where independent draws rarely fit: the intervals
    in a random order, the free frames split among the gaps at random. None if they cannot fit."""
    free = n - sum(lengths) - gap * (len(lengths) + 1)
    if free < 0:
        return None
    order = rng.permutation(len(lengths))
    extra = np.diff(np.concatenate([[0], np.sort(rng.integers(0, free + 1, len(lengths))), [free]]))
    starts = [0] * len(lengths)
    t = 0
    for j, i in enumerate(order):
        t += gap + int(extra[j])
        starts[int(i)] = t
        t += lengths[int(i)]
    return starts


def plan_demo(gen_cfg: dict[str, Any] | None) -> list[VideoPlan]:
    """Every clip and long video of the demo, decided from the config alone."""
    g = settings(gen_cfg)
    seed = int(g["seed"])
    plans: list[VideoPlan] = []
    lo, hi = g["micro_amplitude"]
    for s in range(int(g["subjects"])):
        rng = np.random.default_rng([seed, 1, s])
        fps = float(g["clip_fps"])
        for c, emotion in enumerate(EMOTIONS):
            for r in range(int(g["clips_per_class"])):
                rise = int(round(fps * rng.uniform(0.08, 0.2)))
                fall = int(round(fps * rng.uniform(0.1, 0.25)))
                pre, post = int(rng.integers(3, 8)), int(rng.integers(3, 8))
                onset = pre
                ev = Event(emotion, "micro", onset, onset + rise, onset + rise + fall, float(rng.uniform(lo, hi)))
                events = [ev]
                n = pre + rise + fall + 1 + post
                if rng.random() < 0.3:  # a blink inside some clips
                    b0 = int(rng.integers(0, n - 6))
                    events.append(Event("blink", "blink", b0, b0 + 3, b0 + 6, 1.0))
                if g.get("clip_overlap") is not None:
                    events.append(overlap_event(np.random.default_rng([seed, 3, s, c, r]), ev, n, fps, g["clip_overlap"]))
                drift = None if g.get("clip_drift") is None else float(g["clip_drift"]) * ev.amplitude
                plans.append(
                    VideoPlan(s, f"sub{s + 1:02d}_EP{c + 1:02d}_{r + 1:02d}", f"{CLIP_DIR}/sub{s + 1:02d}/EP{c + 1:02d}_{r + 1:02d}",
                              n, int(rng.integers(1, 200)), fps, events, int(rng.integers(2**31)), drift)
                )
        lfps = float(g["long_fps"])
        n = int(round(g["long_seconds"] * lfps))
        for v in range(int(g["long_videos_per_subject"])):
            rng = np.random.default_rng([seed, 2, s, v])
            n_micro, n_macro = expression_counts(g)
            kinds = ["micro"] * n_micro + ["macro"] * n_macro
            durs = [int(round(lfps * rng.uniform(*(g["micro_seconds"] if k == "micro" else g["macro_seconds"])))) for k in kinds]
            lo, hi = (int(round(f * n)) for f in g.get("expression_span", (0.0, 1.0)))
            starts = _place(rng, hi - lo, durs, gap=int(lfps * 0.8))
            if starts is None:  # crowded (e.g. many expressions per minute): pack them
                starts = _pack(rng, hi - lo, durs, gap=int(lfps * 0.8))
            starts = None if starts is None else [lo + st for st in starts]
            if starts is None:
                raise ValueError(f"demo generator: {len(kinds)} expressions do not fit in {g['long_seconds']} s; lengthen long_seconds")
            events = []
            for st, k, d in zip(starts, kinds, durs, strict=True):
                emotion = EMOTIONS[int(rng.integers(len(EMOTIONS)))]
                apex = st + int(round(d * rng.uniform(0.35, 0.55)))
                amp = rng.uniform(*(g["micro_amplitude"] if k == "micro" else g["macro_amplitude"]))
                events.append(Event(emotion, k, st, apex, st + d - 1, float(amp)))
            busy = np.zeros(n, bool)
            for e in events:
                busy[max(0, e.onset - 3): e.offset + 4] = True
            t = int(rng.integers(int(lfps), int(3 * lfps)))
            while t < n - 10:  # blinks every 1.5-4 s, away from expressions
                d = int(round(lfps * rng.uniform(0.2, 0.35)))
                if not busy[t: t + d + 1].any():
                    events.append(Event("blink", "blink", t, t + d // 2, t + d, 1.0))
                t += int(lfps * rng.uniform(*g["blink_interval"]))
            # its own random stream, so that videos without nuisance render as before
            events += plan_nuisance(g, n, lfps, busy, np.random.default_rng([seed, 3, s, v]))
            code, _ = VIDEO_CODES[v % len(VIDEO_CODES)]
            sid = 15 + s
            plans.append(VideoPlan(s, f"s{sid}_{code}", f"{LONG_DIR}/s{sid}/{sid}_{code}demo", n, 1, lfps, events, int(rng.integers(2**31))))
    return plans


def overlap_event(rng: np.random.Generator, ev: Event, n: int, fps: float, fraction: list[float]) -> Event:
    """A weaker movement of another class overlapping ``ev`` in time (``clip_overlap``): an
    emotion other than ``ev``'s, ``fraction`` (a [low, high] range) of its amplitude, starting
    between half its rise before and its rise after its onset, with its own rise and fall. Type
    ``overlap``: rendered, never annotated."""
    kind = [e for e in EMOTIONS if e != ev.kind][int(rng.integers(len(EMOTIONS) - 1))]
    rise = max(int(round(fps * rng.uniform(0.08, 0.2))), 1)
    fall = max(int(round(fps * rng.uniform(0.1, 0.25))), 1)
    lead = max(ev.apex - ev.onset, 1)
    onset = min(max(ev.onset + int(rng.integers(-(lead // 2), lead + 1)), 0), n - 2)
    return Event(kind, "overlap", onset, onset + rise, onset + rise + fall, float(rng.uniform(float(fraction[0]), float(fraction[1]))) * ev.amplitude)


def expression_counts(g: dict[str, Any]) -> tuple[int, int]:
    """(micro, macro) expressions per long video: ``micro_per_long`` and ``macro_per_long``, or,
    with ``expressions_per_minute``, that rate over ``long_seconds`` split between the types in
    the same proportion (at least one of each type that has a nonzero count)."""
    micro, macro = int(g["micro_per_long"]), int(g["macro_per_long"])
    epm = g.get("expressions_per_minute")
    if epm is None or micro + macro == 0:
        return micro, macro
    total = max(1, int(round(float(epm) * float(g["long_seconds"]) / 60.0)))
    m = int(round(total * micro / (micro + macro)))
    m = min(max(m, 1 if micro else 0), total - (1 if macro and total > 1 else 0))
    return m, total - m


def demo_samples(dataset: str, root: str | Path, gen_cfg: dict[str, Any] | None) -> pd.DataFrame:
    """The sample table the demo will have once generated (what the loaders read back)."""
    rows = []
    for p in plan_demo(gen_cfg):
        long = p.folder.startswith(LONG_DIR)
        for e in p.events:
            if e.type in NON_EXPRESSION:
                continue
            subject = p.video.split("_")[0]
            rows.append({
                "dataset": dataset, "subject": subject, "video": p.video,
                "sample": f"{p.video}_{_clip_index(p, e)}" if long else p.video,
                "frames": str(Path(root) / p.folder), "numbering": "filename", "fps": p.fps,
                "onset": p.first_number + e.onset, "apex": p.first_number + e.apex, "offset": p.first_number + e.offset,
                "type": e.type, "emotion": e.kind, "objective_class": OBJECTIVE[e.kind] if long else "",
                "aus": EMOTION_AUS[e.kind], "task": "spotting" if long else "recognition", "source": dataset,
            })
    df = pd.DataFrame(rows, columns=SAMPLE_COLUMNS)
    df["_order"] = df["task"].map({"recognition": 0, "spotting": 1})
    return df.sort_values(["_order", "video", "onset"], kind="stable").drop(columns="_order").reset_index(drop=True)


def _clip_index(p: VideoPlan, e: Event) -> int:
    """CAS(ME)^2 numbers expressions per video in onset order."""
    onsets = sorted(x.onset for x in p.events if x.type not in NON_EXPRESSION)
    return onsets.index(e.onset) + 1


# ---------------------------------------------------------------------------------------------
# Rendering


def base_face(frame_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The astronaut photograph cropped around the face: (frame BGR float32, 68 landmarks)."""
    from skimage import data

    from mexp_lib.face.landmarks import DlibLandmarker

    rgb = data.astronaut()
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    det = DlibLandmarker(upsample=1).detect(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
    if det is None:
        raise RuntimeError("demo generator: dlib found no face in skimage's astronaut image")
    pts = det.points.astype(np.float64)
    span = pts[:, 0].max() - pts[:, 0].min()
    side = 2.1 * span
    cx, cy = pts[:, 0].mean(), pts[:, 1].mean() - 0.08 * side
    scale = frame_size / side
    m = np.array([[scale, 0, frame_size / 2 - scale * cx], [0, scale, frame_size / 2 - scale * cy]])
    img = cv2.warpAffine(bgr, m, (frame_size, frame_size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT_101)
    return img.astype(np.float32), pts @ m[:, :2].T + m[:, 2]


def _gauss_field(shape: tuple[int, int], anchors: list[tuple[np.ndarray, tuple[float, float]]], sigma: float) -> np.ndarray:
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    f = np.zeros((h, w, 2), np.float32)
    for c, (dx, dy) in anchors:
        g = np.exp(-((xx - c[0]) ** 2 + (yy - c[1]) ** 2) / (2 * sigma**2))
        f[..., 0] += dx * g
        f[..., 1] += dy * g
    return f


def expression_field(shape: tuple[int, int], lm: np.ndarray, emotion: str) -> np.ndarray:
    """Unit-peak displacement field (H, W, 2) of an emotion's action units on a face."""
    iod = float(np.linalg.norm(lm[45] - lm[36]))
    anchors = [(lm[i], (w * dx, w * dy)) for au, w in AU_WEIGHTS[emotion].items() for i, (dx, dy) in AU_POINTS[au]]
    f = _gauss_field(shape, anchors, 0.15 * iod)
    return f / np.linalg.norm(f, axis=-1).max()


def warp_by_field(img: np.ndarray, field: np.ndarray, amount: float) -> np.ndarray:
    """``img`` (float32) with its content moved by ``amount`` x ``field`` (H, W, 2) px."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(img, xx - amount * field[..., 0], yy - amount * field[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def blink_field(shape: tuple[int, int], lm: np.ndarray) -> np.ndarray:
    """Field that closes the upper eyelids; peak = the eye opening."""
    opening = float(np.mean([np.linalg.norm(lm[37] - lm[41]), np.linalg.norm(lm[44] - lm[46])]))
    iod = float(np.linalg.norm(lm[45] - lm[36]))
    f = _gauss_field(shape, [(lm[i], d) for i, d in AU_POINTS["45"]], 0.07 * iod)
    return f / np.linalg.norm(f, axis=-1).max() * opening * 1.2


# nuisance kind -> [(landmark index, (dx, dy))]: talking opens the jaw and lips (AU25/26-like),
# swallowing lifts the chin, a gaze shift moves both eyes' centres sideways
NUISANCE_POINTS: dict[str, list[tuple[int, tuple[float, float]]]] = {
    "talking": [(57, (0, 1)), (56, (0, 0.9)), (58, (0, 0.9)), (8, (0, 0.8)), (7, (0, 0.7)), (9, (0, 0.7)), (51, (0, -0.3))],
    "swallowing": [(7, (0, -0.8)), (8, (0, -1)), (9, (0, -0.8)), (57, (0, -0.4))],
}


def nuisance_field(shape: tuple[int, int], lm: np.ndarray, kind: str, direction: float = 1.0) -> np.ndarray:
    """Unit-peak displacement field (H, W, 2) of one non-expression motion (:data:`NUISANCE`);
    ``direction`` (+1 / -1) is the side a gaze shift turns to."""
    iod = float(np.linalg.norm(lm[45] - lm[36]))
    if kind == "gaze":
        eyes = [lm[36:42].mean(axis=0), lm[42:48].mean(axis=0)]
        f = _gauss_field(shape, [(c, (direction, 0.0)) for c in eyes], 0.06 * iod)
    else:
        f = _gauss_field(shape, [(lm[i], d) for i, d in NUISANCE_POINTS[kind]], 0.15 * iod)
    return f / np.linalg.norm(f, axis=-1).max()


PHOTO_FRACTION = 0.62  # a 224 px face crop in a 360 px frame


def photo_subject(path: Path) -> str:
    """The source subject of a face photograph named ``<subject>_<clip>.<ext>`` (the MEGC 2019
    composite's naming: ``sub01_EP02_01f.jpg``, ``006_006_1_2.jpg``, ``s01_s1_ne_01.jpg``)."""
    return path.stem.split("_", 1)[0]


def photo_face(path: str | Path, frame_size: int) -> tuple[np.ndarray, np.ndarray]:
    """A face photograph placed in a ``frame_size`` square frame: (frame BGR float32, 68 landmarks).

    Face photographs are usually tight crops (the jaw at the edges), so the photograph is scaled
    to ``PHOTO_FRACTION`` of the frame and centred, and the rest of the frame continues its edges,
    replicated and blurred into an out-of-focus background: the whole face, jaw included, lies
    inside the frame, as in a dataset's recordings. Landmarks come from the dlib backend the
    workflow uses, on the placed frame."""
    from mexp_lib.errors import DataError
    from mexp_lib.face.landmarks import DlibLandmarker

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise DataError(f"{path}: not a readable image")
    inner = int(round(frame_size * PHOTO_FRACTION))
    scale = inner / max(bgr.shape[:2])
    face = cv2.resize(bgr, (max(1, round(bgr.shape[1] * scale)), max(1, round(bgr.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    top, left = (frame_size - face.shape[0]) // 2, (frame_size - face.shape[1]) // 2
    padded = cv2.copyMakeBorder(face, top, frame_size - face.shape[0] - top, left, frame_size - face.shape[1] - left, cv2.BORDER_REPLICATE)
    blurred = cv2.GaussianBlur(padded, (0, 0), frame_size / 40)
    inside = np.zeros(padded.shape[:2], np.float32)
    inside[top:top + face.shape[0], left:left + face.shape[1]] = 1
    inside = cv2.GaussianBlur(inside, (0, 0), 2)[..., None]
    img = (inside * padded + (1 - inside) * blurred).astype(np.float32)
    det = DlibLandmarker(upsample=1).detect(cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2GRAY))
    if det is None:
        raise DataError(f"{path}: dlib finds no face in it")
    return img, det.points.astype(np.float64)


def face_bank(folder: str | Path, frame_size: int, subjects: list[str] | None = None, n: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """One identity per source subject of a folder of face photographs (:func:`photo_subject`):
    the subjects named in ``subjects``, in that order, or the first ``n`` in name order; each
    subject's first photograph (name order) in which dlib finds a face."""
    from mexp_lib.errors import ConfigError, DataError

    root = Path(folder)
    if not root.is_dir():
        raise ConfigError(f"generator.faces: {root} is not a folder of face photographs")
    photos: dict[str, list[Path]] = {}
    for f in sorted(root.iterdir()):
        if f.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp"):
            photos.setdefault(photo_subject(f), []).append(f)
    wanted = list(subjects) if subjects is not None else sorted(photos)[: n if n is not None else None]
    missing = [s for s in wanted if s not in photos]
    if missing:
        raise ConfigError(f"generator.face_subjects: no photograph of {missing} in {root}")
    if n is not None and len(wanted) < n:
        raise ConfigError(f"generator.faces: {root} has photographs of {len(wanted)} subjects, {n} needed")
    bank = []
    for s in wanted:
        for f in photos[s]:
            try:
                bank.append(photo_face(f, frame_size))
                break
            except DataError:
                continue
        else:
            raise DataError(f"{root}: no photograph of subject {s} in which dlib finds a face")
    return bank


def make_identity(base: np.ndarray, lm: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A new subject: random similarity, smooth warp and photometric change of the base face."""
    h, w = base.shape[:2]
    ang = np.deg2rad(rng.uniform(-4, 4))
    sc = rng.uniform(0.92, 1.08)
    t = rng.uniform(-4, 4, 2)
    c = np.array([w / 2, h / 2])
    r = sc * np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    fwd = np.hstack([r, (c + t - r @ c)[:, None]])
    inv = cv2.invertAffineTransform(fwd)
    warp: np.ndarray = cv2.GaussianBlur(rng.normal(0, 1, (h, w, 2)).astype(np.float32), (0, 0), 18)
    warp *= rng.uniform(1.5, 3.0) / max(np.abs(warp).max(), 1e-6)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    mx = inv[0, 0] * xx + inv[0, 1] * yy + inv[0, 2] - warp[..., 0]
    my = inv[1, 0] * xx + inv[1, 1] * yy + inv[1, 2] - warp[..., 1]
    img = cv2.remap(base, mx.astype(np.float32), my.astype(np.float32), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    img = np.clip(img / 255.0, 0, 1) ** rng.uniform(0.8, 1.25)
    img = img * rng.uniform(0.85, 1.15) * rng.uniform(0.94, 1.06, 3) * 255 + rng.uniform(-12, 12)
    new_lm = lm @ fwd[:, :2].T + fwd[:, 2]
    ix = np.clip(new_lm.round().astype(int), 0, [w - 1, h - 1])
    new_lm = new_lm + warp[ix[:, 1], ix[:, 0]]
    return img.astype(np.float32), new_lm


def event_field(shape: tuple[int, int], lm: np.ndarray, e: Event) -> np.ndarray:
    """The displacement field (H, W, 2, px at full activation) of one planned event."""
    if e.type == "blink":
        return blink_field(shape, lm)
    if e.type == "nuisance":
        return nuisance_field(shape, lm, e.kind, 1.0 if e.onset % 2 else -1.0) * e.amplitude
    return expression_field(shape, lm, e.kind) * e.amplitude


def render_video(identity: np.ndarray, lm: np.ndarray, plan: VideoPlan, noise_sigma: float, head_motion: float = 1.0,  # type: ignore[no-untyped-def]
                 head_rotation: float | None = None):
    """Yield the frames (uint8 BGR) of one planned video. ``head_motion`` scales the slow head
    translation (1.5 px) and rotation (0.6 degrees) of long videos; ``head_rotation`` (degrees),
    when given, sets the rotation's amplitude on its own. A short clip's head moves 0.3 px and
    0.1 degrees, or ``plan.drift`` px and ``plan.drift / 3`` degrees (``clip_drift``)."""
    rng = np.random.default_rng(plan.seed)
    h, w = identity.shape[:2]
    n = plan.n_frames
    fields = []
    for e in plan.events:
        fields.append((_event_profile(n, e, plan.fps), event_field((h, w), lm, e)))
    # slow head motion: sum of low-frequency sinusoids (pixels, degrees)
    secs = np.arange(n) / plan.fps
    long = n > 5 * plan.fps
    amp_t, amp_r = (1.5 * head_motion, 0.6 * head_motion) if long else (0.3, 0.1) if plan.drift is None else (plan.drift, plan.drift / 3)
    if long and head_rotation is not None:
        amp_r = float(head_rotation)
    motion = np.zeros((n, 3))
    for j in range(3):
        period = rng.uniform(4, 15) if long else rng.uniform(1, 3)
        motion[:, j] = (amp_r if j == 2 else amp_t) * np.sin(2 * np.pi * secs / period + rng.uniform(0, 2 * np.pi))
    gain = 1 + 0.03 * np.sin(2 * np.pi * secs / rng.uniform(8, 20) + rng.uniform(0, 2 * np.pi))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    c = lm[27]
    for i in range(n):
        d = np.zeros((h, w, 2), np.float32)
        for prof, f in fields:
            if prof[i] > 0:
                d += np.float32(prof[i]) * f
        a = np.deg2rad(motion[i, 2])
        ca, sa = np.cos(a), np.sin(a)
        # inverse head motion: rotate about the nose bridge by -a, then undo the translation
        x0, y0 = xx - c[0] - motion[i, 0], yy - c[1] - motion[i, 1]
        mx = ca * x0 + sa * y0 + c[0] - d[..., 0]
        my = -sa * x0 + ca * y0 + c[1] - d[..., 1]
        img = cv2.remap(identity, mx.astype(np.float32), my.astype(np.float32), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
        img = img * np.float32(gain[i]) + np.float32(noise_sigma) * rng.standard_normal(img.shape, dtype=np.float32)
        yield np.clip(np.rint(img), 0, 255).astype(np.uint8)


def identities(g: dict[str, Any]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(frame, landmarks) of every subject: real photographs (``faces``, one source subject
    each), or variations of the astronaut photograph."""
    size, n = int(g["frame_size"]), int(g["subjects"])
    if g.get("faces"):
        subjects = g.get("face_subjects")
        if subjects is not None and len(subjects) < n:
            raise ValueError(f"demo generator: {n} subjects but face_subjects names {len(subjects)}")
        return face_bank(g["faces"], size, subjects=None if subjects is None else list(subjects)[:n], n=None if subjects is not None else n)
    base, base_lm = base_face(size)
    return [make_identity(base, base_lm, np.random.default_rng([int(g["seed"]), 0, s])) for s in range(n)]


def frame_writer(jpeg_quality: int | None) -> tuple[str, list[int]]:
    """(file extension, OpenCV write flags): JPEG at ``jpeg_quality`` or lossless PNG."""
    if jpeg_quality is None:
        return ".png", [cv2.IMWRITE_PNG_COMPRESSION, 1]
    return ".jpg", [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]


# The settings the stage reads (mexp_lib.stages): the dataset's generator block.
GENERATE_DEMO_READS = ("datasets.{dataset}.generator",)


def generate_demo(root: str | Path, gen_cfg: dict[str, Any] | None, *, layout: str = "demo") -> None:
    """Render the demo into ``root`` (via a temporary folder renamed at the end).

    ``layout``: ``demo`` writes the CASME II / CAS(ME)^2-style folders and sheets that the
    ``demo`` format reads; ``generic`` writes ``<root>/<video>/img00001.<ext>`` (1-based
    positions) and ``<root>/annotations.csv`` for the ``generic`` format (long videos and clips
    in one sheet: read them with ``task: spotting`` and ``task: recognition`` entries filtered
    by video, or render them separately)."""
    if layout not in ("demo", "generic"):
        raise ValueError(f"layout must be 'demo' or 'generic', not {layout!r}")
    g = settings(gen_cfg)
    plans = plan_demo(g)
    faces = identities(g)
    ext, flags = frame_writer(g.get("jpeg_quality"))
    with atomic_path(root, directory=True) as tmp:
        total = sum(p.n_frames for p in plans)
        frames = (
            (p, i, img)
            for p in plans
            for i, img in enumerate(render_video(*faces[p.subject], p, float(g["noise_sigma"]), float(g.get("head_motion", 1.0)), g.get("head_rotation")))
        )
        for p, i, img in progress(frames, total, "demo: rendering frames"):
            d = tmp / (p.video if layout == "generic" else p.folder)
            if i == 0:
                d.mkdir(parents=True, exist_ok=True)
            name = f"img{i + 1:05d}{ext}" if layout == "generic" else f"img{p.first_number + i}{ext}"
            cv2.imwrite(str(d / name), img, flags)
        if layout == "generic":
            write_csv(generic_sheet(plans), tmp / "annotations.csv")
        else:
            write_sheets(tmp, g)
    logger.info("demo: %d videos, %d frames written to %s", len(plans), total, root)


def generic_sheet(plans: list[VideoPlan]) -> pd.DataFrame:
    """The ``generic`` annotation sheet of rendered videos (1-based frame positions)."""
    rows = [
        {"subject": f"s{p.subject + 1:02d}", "video": p.video, "onset": e.onset + 1, "apex": e.apex + 1, "offset": e.offset + 1, "type": e.type, "emotion": e.kind}
        for p in plans for e in sorted(p.events, key=lambda e: e.onset) if e.type not in NON_EXPRESSION
    ]
    return pd.DataFrame(rows, columns=["subject", "video", "onset", "apex", "offset", "type", "emotion"])


def write_sheets(root: Path, gen_cfg: dict[str, Any]) -> None:
    """Write the CASME II-style and CAS(ME)^2-style annotation workbooks of the demo."""
    samples = demo_samples("demo", root, gen_cfg)
    clips = samples[samples.task == "recognition"]
    sheet = pd.DataFrame({
        "Subject": [int(s[3:]) for s in clips.subject],
        "Filename": [v.split("_", 1)[1] for v in clips.video],
        "OnsetFrame": clips.onset.values, "ApexFrame": clips.apex.values, "OffsetFrame": clips.offset.values,
        "Action Units": clips.aus.values, "Estimated Emotion": clips.emotion.values,
    })
    sheet.to_excel(root / CLIP_SHEET, index=False, sheet_name="Sheet1")
    long = samples[samples.task == "spotting"]
    sids = sorted({int(s[1:]) for s in long.subject})
    names = dict(VIDEO_CODES)
    main = pd.DataFrame({
        0: [sids.index(int(s[1:])) + 1 for s in long.subject],
        1: [f"{names[v.split('_')[1]]}_{smp.rsplit('_', 1)[1]}" for v, smp in zip(long.video, long["sample"], strict=True)],
        2: long.onset.values, 3: long.apex.values, 4: long.offset.values, 5: long.aus.values,
        6: long.objective_class.values, 7: [f"{t}-expression" for t in long.type], 8: long.emotion.values,
    })
    rule1 = pd.DataFrame({0: [int(s[1:]) for s in long.subject], 1: list(long.subject), 2: main[0].values})
    rule2 = pd.DataFrame({0: [c for c, _ in VIDEO_CODES], 1: [n for _, n in VIDEO_CODES]})
    with pd.ExcelWriter(root / LONG_SHEET, engine="openpyxl") as xw:
        main.to_excel(xw, sheet_name="CASFEcode_final", header=False, index=False)
        rule1.to_excel(xw, sheet_name="naming rule1", header=False, index=False)
        rule2.to_excel(xw, sheet_name="naming rule2", header=False, index=False)
