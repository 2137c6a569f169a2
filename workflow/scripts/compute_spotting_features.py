"""Per-frame spotting scores of one long video (adapter for mexp_lib.spotting.stage.compute_spotting_features)."""
from mexp_lib.log import setup_logging
from mexp_lib.spotting.stage import compute_spotting_features

setup_logging(snakemake.log[0])
compute_spotting_features(snakemake.params.faces, fps=snakemake.params.fps, cfg=snakemake.params.settings["spotting"], out=snakemake.output.features)
