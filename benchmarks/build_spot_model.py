"""Build the spotter that ships with mexp: ``mexp_lib/spotting/models/default_spotter.pt``.

``mexp spot VIDEO --fps F`` without ``--model`` uses it. It is the workflow's default spotter
(``spotting.spotter: select`` of ``config/config.yaml``: the candidate of ``select_from`` with the
best inner leave-one-subject-out F1, then fitted -- network and thresholds -- on every video),
fitted on the **development part** of the spotting stress benchmark (``bench_spotting_stress.py``:
its middle bucket, seed 301, the development subjects' real face crops; never the test part), with
the face stage the benchmarks and ``mexp spot`` share (the schema's face defaults). Rendering,
faces and features are cached with the stress benchmark's (``benchmarks/.cache/spotting_stress``).

The model stores its provenance (part, seed, subjects, generator and face settings, spotting
settings, the chosen spotter and every candidate's inner F1, mexp version and commit, date); the
same record is written beside it as JSON. Deterministic: the render, the network's initialisation
and batches are seeded (only the date and commit change between two builds).

Run: nice -n 10 .venv/bin/python benchmarks/build_spot_model.py [--out FILE]
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import sys
from pathlib import Path
from typing import Any

from mexp_lib.log import setup_logging
from mexp_lib.provenance import code_version
from mexp_lib.spotting.stage import DEFAULT_MODEL, write_spotting_model

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_spotting_stress import BUCKETS, PARTS, generator  # noqa: E402
from spotting_common import FACE, FACES, REPO, SELECT, scores_of, spotter_configs  # noqa: E402

PART = "dev"  # the development part only: the test part stays unseen


def build(workdir: Path, out: Path) -> dict[str, Any]:
    """Render (cached) the development part's middle bucket, fit the workflow's default spotter
    on all of its videos and write it to ``out`` (and its provenance to ``out`` .json)."""
    from bench_spotting_real_video import training_set

    middle = BUCKETS[0]
    seed = int(PARTS[PART]["seed"])
    cdir, gt, videos = training_set(workdir, PART)
    _, cfg = spotter_configs(SELECT)  # config/config.yaml's spotting section, spotter: select
    scores = scores_of(cdir, videos, float(middle.settings["fps"]), cfg)
    subjects = dict(zip(gt.video, gt.subject, strict=False))
    provenance = json.loads(json.dumps({
        "trained_on": f"the spotting stress benchmark's {PART} part (middle bucket, seed {seed}, {len(videos)} videos)",
        "builder": "benchmarks/build_spot_model.py",
        "part": PART, "bucket": middle.name, "seed": seed, "face_subjects": list(PARTS[PART]["subjects"]),
        "bucket_settings": middle.settings, "generator": {k: v for k, v in generator(PART, middle.settings, seed).items() if k != "faces"},
        "faces": str(FACES.relative_to(REPO.parent)), "videos": videos, "subjects": sorted(set(subjects.values())),
        "face": FACE, "spotting": cfg, "mexp_version": code_version(), "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }, default=list))
    out.parent.mkdir(parents=True, exist_ok=True)
    chosen, inner = write_spotting_model(scores, gt, cfg, out, subjects=subjects, provenance=provenance)
    from mexp_lib.spotting.stage import read_model_provenance

    stored = read_model_provenance(out)
    out.with_suffix(".json").write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n")
    print(f"candidates' inner leave-one-subject-out F1 on the {PART} part: " + ", ".join(f"{c} {f:.3f}" for c, f in inner.items()))
    print(f"chosen: {chosen}; thresholds fitted on all {len(videos)} videos (training F1 {stored['train_f1'] if stored else '?'})")
    print(f"{out}: {out.stat().st_size / 1024:.0f} KiB; provenance {out.with_suffix('.json')}")
    return stored or {}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(DEFAULT_MODEL), help="model file (default: the package's, %(default)s)")
    ap.add_argument("--workdir", default=str(REPO / "benchmarks/.cache/spotting_stress"), help="cache of videos, faces and features")
    a = ap.parse_args(argv)
    if not FACES.is_dir():
        print(f"the real face crops are not at {FACES}", file=sys.stderr)
        return 2
    setup_logging(level=logging.WARNING)
    build(Path(a.workdir), Path(a.out))
    return 0


if __name__ == "__main__":
    from mexp_lib.errors import script_exit

    raise SystemExit(script_exit(main, Path(__file__).name))
