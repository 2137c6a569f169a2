"""Leave-one-subject-out spotting of a dataset's long videos (adapter for mexp_lib.spotting.stage.spot_intervals)."""
from mexp_lib.log import setup_logging
from mexp_lib.spotting.stage import spot_intervals

setup_logging(snakemake.log[0])
o = snakemake.output
cfg = dict(snakemake.params.settings["spotting"]) | {"classes": list(snakemake.params.classes), "class_mapping": dict(snakemake.params.class_mapping)}
spot_intervals(snakemake.input.samples, snakemake.input.features, cfg=cfg,
             out_intervals=o.intervals, out_selection=o.selection, out_timelines=o.timelines, out_model=o.model, out_strs=o.strs)
