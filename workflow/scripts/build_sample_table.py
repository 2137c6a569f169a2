"""Load and validate a dataset's annotations into the sample table."""
from mexp_lib.datasets import load_dataset
from mexp_lib.io import write_csv
from mexp_lib.log import logger, setup_logging

setup_logging(snakemake.log[0])
samples, report = load_dataset(snakemake.wildcards.dataset, dict(snakemake.params.dataset))
logger.info("%d samples in %d videos; %s", len(samples), samples.video.nunique(), report.summary())
write_csv(samples, snakemake.output.samples)
write_csv(report.to_frame(), snakemake.output.skipped)
