"""Aligned, cropped faces of one video (adapter for mexp_lib.face.stage.align_faces)."""
from mexp_lib.face.stage import align_faces
from mexp_lib.log import setup_logging

setup_logging(snakemake.log[0])
p = snakemake.params
align_faces(p.frames, snakemake.input.landmarks, numbering=p.numbering, face_cfg=dict(p.face), out=snakemake.output.faces)
