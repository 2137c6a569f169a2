"""A chunk's clips, each cut from its video's faces and temporally normalised (adapter for mexp_lib.motion.stage.normalise_clip)."""
from mexp_lib.log import setup_logging
from mexp_lib.motion.stage import normalise_clip

setup_logging(snakemake.log[0])
p, out = snakemake.params, snakemake.output.tim
context = int(p.settings["recognition"]["context"])
for c in p.clips:
    normalise_clip(f"{snakemake.input.faces}/{c['video']}.h5", sample=c["sample"], onset=c["onset"], apex=c["apex"], offset=c["offset"],
                   fps=c["fps"], context=context, cfg=p.settings["interpolation"], out=f"{out}/{c['sample']}.h5")
