"""Load and validate a dataset's annotations into the sample table (adapter for mexp_lib.datasets.load.build_sample_table)."""
from mexp_lib.datasets.load import build_sample_table
from mexp_lib.log import setup_logging

setup_logging(snakemake.log[0])
name = snakemake.wildcards.dataset
build_sample_table(name, dict(snakemake.params.settings["datasets"][name]), out_samples=snakemake.output.samples, out_skipped=snakemake.output.skipped)
