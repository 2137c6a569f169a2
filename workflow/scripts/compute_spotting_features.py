"""Per-frame spotting scores of one long video (adapter for mexp_lib.spotting.stage)."""
from mexp_lib.log import setup_logging
from mexp_lib.spotting.stage import features_store

setup_logging(snakemake.log[0])
features_store(snakemake.input.faces, fps=snakemake.params.fps, cfg=dict(snakemake.params.spotting), out=snakemake.output.features)
