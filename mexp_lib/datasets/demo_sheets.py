"""The demo's annotation sheets, written from its plan: the CASME II-style and
CAS(ME)^2-style workbooks the ``demo`` format reads (:func:`write_sheets`), or the ``generic``
format's CSV (:func:`generic_sheet`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from mexp_lib.datasets.demo_plan import CLIP_SHEET, LONG_SHEET, NON_EXPRESSION, VIDEO_CODES, VideoPlan, demo_samples


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
