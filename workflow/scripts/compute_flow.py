"""Optical flow and strain of one clip (adapter for mexp_lib.motion.stage.flow_store)."""
from mexp_lib.log import setup_logging
from mexp_lib.motion.stage import flow_store

setup_logging(snakemake.log[0])
flow_store(snakemake.input.clip, cfg=dict(snakemake.params.flow), out=snakemake.output.flow)
