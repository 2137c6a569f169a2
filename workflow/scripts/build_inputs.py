"""Pack every recognition sample's model input into one store (adapter for mexp_lib.recognition.train.build_inputs)."""
from pathlib import Path

from mexp_lib.datasets.table import read_sample_table
from mexp_lib.log import logger, setup_logging
from mexp_lib.recognition.samples import select_samples
from mexp_lib.recognition.train import build_inputs

setup_logging(snakemake.log[0])
samples, _ = select_samples(read_sample_table(snakemake.input.samples), dict(snakemake.params.recognition))
sources = {Path(f).stem: f for f in snakemake.input.sources}  # per-sample files are named by the sample id
clips = {Path(f).stem: f for f in snakemake.input.clips}
n = build_inputs(samples, sources, size=int(snakemake.params.input_size), out=snakemake.output[0], kind=snakemake.params.kind, clips=clips)
logger.info("%d of %d samples packed into %s", n, len(samples), snakemake.output[0])
