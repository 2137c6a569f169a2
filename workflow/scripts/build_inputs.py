"""Pack every recognition sample's model input into one store (adapter for mexp_lib.recognition.train.build_inputs)."""
from pathlib import Path

from mexp_lib.datasets.classes import apply_class_set, resolve_class_set
from mexp_lib.datasets.table import read_sample_table
from mexp_lib.log import logger, setup_logging
from mexp_lib.recognition.train import build_inputs

setup_logging(snakemake.log[0])
samples = read_sample_table(snakemake.input.samples)
samples, _ = apply_class_set(samples[samples.task == "recognition"], resolve_class_set(snakemake.params.class_set))
sources = {Path(f).stem: f for f in snakemake.input.sources}
clips = {Path(f).stem: f for f in snakemake.input.clips}
n = build_inputs(samples, sources, size=int(snakemake.params.input_size), out=snakemake.output[0], kind=snakemake.params.kind, clips=clips)
logger.info("%d of %d samples packed into %s", n, len(samples), snakemake.output[0])
