"""Canonical subject and clip ids, so that the same sample has one name in every sheet.

Sheets disagree: SAMM subject ``6``/``006``, SMIC ``20``/``s20``/``s01`` and clips ``s1_ne_01``
/ ``s01_ne_01``; CASME II ``1``/``01``/``sub01``. mexp writes CASME II ``sub01``, SAMM ``006``,
SMIC ``s01`` (clips ``s01_ne_01``).
"""

from __future__ import annotations

import re

from mexp_lib.datasets.sheets import clean_str

_DIGITS = re.compile(r"\d+")
_SMIC_CLIP = re.compile(r"^s(\d+)_", re.IGNORECASE)


def _number(raw: object) -> int | None:
    m = _DIGITS.search(clean_str(raw))
    return int(m.group()) if m else None


def subject_id(db: str, raw: object) -> str:
    """``sub01`` (casme2), ``006`` (samm), ``s01`` (smic); other datasets keep the sheet's id."""
    s = clean_str(raw)
    n = _number(s)
    if n is None or db not in ("casme2", "samm", "smic"):
        return s
    return {"casme2": f"sub{n:02d}", "samm": f"{n:03d}", "smic": f"s{n:02d}"}[db]


def smic_clip(raw: object) -> str:
    """SMIC clip name with a two-digit subject: ``s1_ne_01`` -> ``s01_ne_01``."""
    s = clean_str(raw)
    return _SMIC_CLIP.sub(lambda m: f"s{int(m.group(1)):02d}_", s)
