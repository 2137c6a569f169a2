"""Leave-one-subject-out spotting of a dataset's long videos (adapter for mexp_lib.spotting.stage)."""
from mexp_lib.log import setup_logging
from mexp_lib.spotting.stage import spot_dataset

setup_logging(snakemake.log[0])
o = snakemake.output
spot_dataset(snakemake.input.samples, snakemake.input.features, cfg=dict(snakemake.params.spotting),
             out_intervals=o.intervals, out_selection=o.selection, out_timelines=o.timelines, out_model=o.model)
