"""Pack every recognition sample's model input into one store (adapter for mexp_lib.training.build_input_pack)."""
from pathlib import Path

import pandas as pd

from mexp_lib.datasets.classes import apply_class_set, resolve_class_set
from mexp_lib.log import logger, setup_logging
from mexp_lib.training import build_input_pack

setup_logging(snakemake.log[0])
samples = pd.read_csv(snakemake.input.samples, dtype={"subject": str}, keep_default_na=False)
samples, _ = apply_class_set(samples[samples.task == "recognition"], resolve_class_set(snakemake.params.class_set))
sources = {Path(f).stem: f for f in snakemake.input.sources}
n = build_input_pack(samples, sources, size=int(snakemake.params.input_size), out=snakemake.output[0], kind=snakemake.params.kind)
logger.info("%d of %d samples packed into %s", n, len(samples), snakemake.output[0])
