"""Train one leave-one-subject-out fold (adapter for mexp_lib.recognition.train.train_fold)."""
from mexp_lib.datasets.classes import resolve_class_set
from mexp_lib.datasets.table import read_sample_table
from mexp_lib.log import setup_logging
from mexp_lib.recognition.samples import select_samples
from mexp_lib.recognition.train import train_fold

setup_logging(snakemake.log[0])
rec = snakemake.params.settings["recognition"]
samples, _ = select_samples(read_sample_table(snakemake.input.samples), rec)
cfg = snakemake.params.settings["training"] | {"threads": snakemake.threads}
train_fold(samples, snakemake.input.pack, test_subject=snakemake.wildcards.fold, classes=resolve_class_set(rec["class_set"]).classes, cfg=cfg,
           out_predictions=snakemake.output.predictions, out_checkpoint=snakemake.output.checkpoint, fold_by=snakemake.params.fold_by,
           out_selection=snakemake.output.selection)
