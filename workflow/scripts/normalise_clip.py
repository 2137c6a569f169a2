"""One sample's clip cut from its video's faces and temporally normalised (adapter for mexp_lib.motion.stage.normalise_clip)."""
from mexp_lib.log import setup_logging
from mexp_lib.motion.stage import normalise_clip

setup_logging(snakemake.log[0])
c = snakemake.params.clip
normalise_clip(snakemake.input.faces, sample=snakemake.wildcards.sample, onset=c["onset"], apex=c["apex"], offset=c["offset"], fps=c["fps"],
               context=c["context"], cfg=dict(snakemake.params.interpolation), out=snakemake.output.tim)
