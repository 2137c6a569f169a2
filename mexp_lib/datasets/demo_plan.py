"""The demo's plan: every clip and long video, its frames and its events (expressions,
blinks, non-expression motions), decided from the generator settings alone (:func:`plan_demo`),
without touching the disk, so that the workflow knows the demo's samples before it exists
(:func:`demo_samples`: the sample table the loaders will read back). Rendering it is
:mod:`mexp_lib.datasets.demo_render`'s; writing it, :func:`mexp_lib.datasets.demo.generate_demo`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mexp_lib.config import load_schema
from mexp_lib.datasets.table import SAMPLE_COLUMNS

CLIP_SHEET = "CASME2-coding-demo.xlsx"

LONG_SHEET = "CASME_sq-code_final-demo.xlsx"

CLIP_DIR = "CASME2_RAW_selected"

LONG_DIR = "rawpic"

EMOTIONS = ("happiness", "disgust", "surprise")

OBJECTIVE = {"happiness": "positive", "disgust": "negative", "surprise": "surprise"}

EMOTION_AUS = {"happiness": "6+12", "disgust": "4+9+10", "surprise": "1+2+26"}

VIDEO_CODES = [("0101", "disgust1"), ("0102", "disgust2"), ("0401", "anger1"), ("0402", "anger2"), ("0502", "happy1")]


def generator_schema() -> dict[str, Any]:
    """The schema of a demo entry's ``generator`` block (``datasets.<name>.generator``)."""
    return load_schema()["properties"]["datasets"]["additionalProperties"]["properties"]["generator"]  # type: ignore[no-any-return]


# The generator's defaults: the schema's (their one source), which render the workflow's demo --
# the one `mexp demo` renders. Long videos' stress factors (head_rotation, blink_interval,
# expressions_per_minute, nuisance_*) default to what earlier versions rendered.
DEFAULTS: dict[str, Any] = {k: v["default"] for k, v in generator_schema()["properties"].items()}

# Non-expression facial motion of long videos: localised motions with their own timing, planned
# away from the expressions like blinks and never annotated. kind -> (seconds range, profile)
NUISANCE: dict[str, tuple[tuple[float, float], str]] = {
    "talking": ((1.0, 3.0), "oscillating"),  # the jaw and lips open and close at 3-5 Hz
    "swallowing": ((0.4, 0.8), "bump"),  # the chin and throat rise and fall once
    "gaze": ((0.6, 2.0), "hold"),  # the eyes turn aside, hold, and come back
}

NON_EXPRESSION = ("blink", "nuisance", "overlap")


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
    """Generator settings: ``DEFAULTS`` (the schema's) updated with the config's ``generator`` block."""
    out = copy.deepcopy(DEFAULTS)
    out.update(gen or {})
    return out


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
