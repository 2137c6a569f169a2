"""Optical flow and strain of a chunk's clips (adapter for mexp_lib.motion.stage.compute_flow)."""
from mexp_lib.log import setup_logging
from mexp_lib.motion.stage import compute_flow

setup_logging(snakemake.log[0])
p, out = snakemake.params, snakemake.output.flow
for s in p.samples:
    compute_flow(f"{snakemake.input.clips}/{s}.h5", cfg=p.settings["flow"], out=f"{out}/{s}.h5", threads=snakemake.threads, pairs=p.pairs)
