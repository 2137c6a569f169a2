"""Pool the folds into the LOSO metric table (adapter for mexp_lib.recognition.evaluate.evaluate_recognition)."""
from mexp_lib.log import logger, setup_logging
from mexp_lib.recognition.evaluate import evaluate_recognition

setup_logging(snakemake.log[0])
o = snakemake.output
table = evaluate_recognition(snakemake.input.predictions, classes=list(snakemake.params.classes), cfg=dict(snakemake.params.config),
                             out_csv=o.metrics, out_predictions=o.predictions, out_png=o.confusion, out_provenance=o.provenance,
                             out_html=o.page, expected=snakemake.params.expected, excluded=dict(snakemake.params.excluded))
logger.info("\n%s", table.to_string())
