"""Temporal normalisation (TIM) of one clip (adapter for mexp_lib.motion.stage.normalise_clip)."""
from mexp_lib.log import setup_logging
from mexp_lib.motion.stage import normalise_clip

setup_logging(snakemake.log[0])
p = snakemake.params
normalise_clip(snakemake.input.faces, onset=p.onset, apex=p.apex, offset=p.offset, fps=p.fps, cfg=dict(p.interpolation), out=snakemake.output.tim)
