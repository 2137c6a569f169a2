"""Eulerian motion magnification of one clip (adapter for mexp_lib.motion.stage.magnify_motion)."""
from mexp_lib.log import setup_logging
from mexp_lib.motion.stage import magnify_motion

setup_logging(snakemake.log[0])
magnify_motion(snakemake.input.tim, cfg=dict(snakemake.params.magnification), out=snakemake.output.magnified)
