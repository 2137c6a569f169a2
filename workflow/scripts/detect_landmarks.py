"""68-point landmarks of one video (adapter for mexp_lib.face.stage.detect_landmarks)."""
from mexp_lib.face.stage import detect_landmarks
from mexp_lib.log import setup_logging

setup_logging(snakemake.log[0])
p = snakemake.params
detect_landmarks(p.frames, video=snakemake.wildcards.video, numbering=p.numbering, strategy=p.strategy, face_cfg=dict(p.face), out=snakemake.output.landmarks)
