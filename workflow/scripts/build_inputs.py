"""Pack every recognition sample's model input into one store (adapter for mexp_lib.recognition.train.build_inputs)."""
from mexp_lib.datasets.table import read_sample_table
from mexp_lib.log import logger, setup_logging
from mexp_lib.recognition.samples import select_samples
from mexp_lib.recognition.train import build_inputs

setup_logging(snakemake.log[0])
p = snakemake.params
samples, _ = select_samples(read_sample_table(snakemake.input.samples), p.settings["recognition"])
n = build_inputs(samples, dict(p.sources), size=int(p.settings["training"]["input_size"]), out=snakemake.output[0], kind=p.kind, clips=dict(p.clips))
logger.info("%d of %d samples packed into %s", n, len(samples), snakemake.output[0])
