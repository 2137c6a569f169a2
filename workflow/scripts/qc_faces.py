"""Face-stage QC table and crop grid of a dataset (adapter for mexp_lib.face.qc.qc_faces)."""
from mexp_lib.face.qc import qc_faces
from mexp_lib.log import setup_logging

setup_logging(snakemake.log[0])
o = snakemake.output
qc_faces(snakemake.params.landmarks, snakemake.params.faces, out_csv=o.table, out_crops=o.crops, out_html=o.page)
