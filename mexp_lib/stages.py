"""What each workflow stage reads from the config: one table, built from the ``*_READS`` tuple
each stage's library module declares beside its function.

A rule's ``params: settings=get_settings("<rule>")`` is :func:`stage_settings` of its rule: the
settings its function reads, picked from the resolved config (a dataset's own ``training`` /
``recognition`` keys deep-merged over the global ones). Snakemake reruns a job whose params
changed, so changing a setting reruns exactly the stages that read it (and what depends on
their outputs); a setting no stage reads reruns nothing. ``tests/test_stage_settings.py``
checks that every declared setting reaches its stage and reruns it, and that the functions read
no setting they do not declare.

Dotted paths: ``"flow"`` a whole section, ``"face.size"`` one key, ``"datasets.{dataset}"`` the
dataset's own entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mexp_lib.config import read_settings
from mexp_lib.datasets.demo import GENERATE_DEMO_READS
from mexp_lib.datasets.load import BUILD_SAMPLE_TABLE_READS
from mexp_lib.face.qc import QC_FACES_READS
from mexp_lib.face.stage import ALIGN_FACES_READS, DETECT_LANDMARKS_READS
from mexp_lib.motion.stage import COMPUTE_FLOW_READS, MAGNIFY_MOTION_READS, NORMALISE_CLIP_READS
from mexp_lib.recognition.evaluate import EVALUATE_RECOGNITION_READS
from mexp_lib.recognition.settings import BUILD_INPUTS_READS, TRAIN_FOLD_READS
from mexp_lib.spotting.evaluate import EVALUATE_SPOTTING_READS
from mexp_lib.spotting.stage import COMPUTE_SPOTTING_FEATURES_READS, SPOT_INTERVALS_READS

# rule name -> the dotted config paths its function reads.
STAGE_READS: dict[str, tuple[str, ...]] = {
    "generate_demo": GENERATE_DEMO_READS,
    "build_sample_table": BUILD_SAMPLE_TABLE_READS,
    "detect_landmarks": DETECT_LANDMARKS_READS,
    "align_faces": ALIGN_FACES_READS,
    "qc_faces": QC_FACES_READS,
    "normalise_clip": NORMALISE_CLIP_READS,
    "magnify_motion": MAGNIFY_MOTION_READS,
    "compute_flow": COMPUTE_FLOW_READS,
    "build_inputs": BUILD_INPUTS_READS,
    "train_fold": TRAIN_FOLD_READS,
    "evaluate_recognition": EVALUATE_RECOGNITION_READS,
    "compute_spotting_features": COMPUTE_SPOTTING_FEATURES_READS,
    "spot_intervals": SPOT_INTERVALS_READS,
    "evaluate_spotting": EVALUATE_SPOTTING_READS,
}


def stage_settings(config: Mapping[str, Any], stage: str, dataset: str | None = None) -> dict[str, Any]:
    """The settings ``stage`` (a rule name) reads, from a resolved config, as the dataset runs
    them (:func:`mexp_lib.config.read_settings`)."""
    return read_settings(config, STAGE_READS[stage], dataset=dataset)
