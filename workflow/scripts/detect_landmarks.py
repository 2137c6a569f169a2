"""68-point landmarks of a chunk of videos, one JSON each (adapter for mexp_lib.face.stage.detect_landmarks)."""
from mexp_lib.face.stage import detect_landmarks
from mexp_lib.log import setup_logging

setup_logging(snakemake.log[0])
p, out = snakemake.params, snakemake.output.landmarks
for v in p.videos:  # the models load once for the chunk (make_landmarker keeps them)
    detect_landmarks(v["frames"], video=v["video"], numbering=v["numbering"], strategy=v["strategy"], face_cfg=p.settings["face"],
                     out=f"{out}/{v['video']}.json")
