"""Optical flow and strain of one clip (adapter for mexp_lib.motion.stage.compute_flow)."""
from mexp_lib.log import setup_logging
from mexp_lib.motion.stage import compute_flow

setup_logging(snakemake.log[0])
compute_flow(snakemake.input.clip, cfg=dict(snakemake.params.flow), out=snakemake.output.flow, threads=snakemake.threads,
             pairs=snakemake.params.pairs)
