"""Aligned, cropped faces of a chunk of videos, one store each (adapter for mexp_lib.face.stage.align_faces)."""
from mexp_lib.face.stage import align_faces
from mexp_lib.log import setup_logging

setup_logging(snakemake.log[0])
p, out = snakemake.params, snakemake.output.faces
for v in p.videos:
    align_faces(v["frames"], f"{snakemake.input.landmarks}/{v['video']}.json", numbering=v["numbering"], face_cfg=p.settings["face"],
                out=f"{out}/{v['video']}.h5")
