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

:func:`mexp_lib.datasets.demo_plan.plan_demo` decides everything from the config (seed, sizes)
without touching the disk, so the workflow knows the demo's samples before it exists
(:mod:`mexp_lib.datasets.demo_plan`); :func:`generate_demo` (the ``generate_demo`` stage)
renders it (:mod:`mexp_lib.datasets.demo_render`) and writes its sheets
(:mod:`mexp_lib.datasets.demo_sheets`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import cv2

from mexp_lib.datasets.demo_plan import plan_demo, settings
from mexp_lib.datasets.demo_render import frame_writer, identities, render_video
from mexp_lib.datasets.demo_sheets import generic_sheet, write_sheets
from mexp_lib.io.atomic import atomic_path, write_csv
from mexp_lib.log import progress

logger = logging.getLogger(__name__)

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
