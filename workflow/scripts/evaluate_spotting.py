"""Spotting metric table (adapter for mexp_lib.spotting.evaluate.evaluate_spotting)."""
import pandas as pd

from mexp_lib.datasets.table import read_sample_table
from mexp_lib.log import logger, setup_logging
from mexp_lib.spotting.evaluate import evaluate_spotting

setup_logging(snakemake.log[0])
samples = read_sample_table(snakemake.input.samples)
gt = samples[samples.task == "spotting"][["video", "onset", "offset", "type"]]
pred = pd.read_csv(snakemake.input.intervals)
table = evaluate_spotting(gt, pred, cfg=dict(snakemake.params.config), out_csv=snakemake.output.metrics,
                          out_provenance=snakemake.output.provenance, out_html=snakemake.output.page, iou=snakemake.params.config["evaluation"]["iou"])
logger.info("\n%s", table.to_string())
