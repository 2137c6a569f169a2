"""Face-stage QC table and crop grid of a dataset (adapter for mexp_lib.face.qc)."""
from mexp_lib.face.qc import qc_table
from mexp_lib.face.stage import qc_grid
from mexp_lib.io import write_csv
from mexp_lib.log import setup_logging

setup_logging(snakemake.log[0])
write_csv(qc_table(snakemake.input.landmarks, snakemake.input.faces), snakemake.output.table)
qc_grid(snakemake.input.faces, snakemake.output.grid)
