"""Motion magnification of a chunk's clips (adapter for mexp_lib.motion.stage.magnify_motion)."""
from mexp_lib.log import setup_logging
from mexp_lib.motion.stage import magnify_motion

setup_logging(snakemake.log[0])
p, out = snakemake.params, snakemake.output.magnified
for s in p.samples:
    magnify_motion(f"{snakemake.input.tim}/{s}.h5", cfg=p.settings["magnification"], out=f"{out}/{s}.h5")
