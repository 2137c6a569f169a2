"""Train one leave-one-subject-out fold (adapter for mexp_lib.training.train_fold)."""

from mexp_lib.datasets.classes import apply_class_set, resolve_class_set
from mexp_lib.datasets.table import read_sample_table
from mexp_lib.log import setup_logging
from mexp_lib.training import train_fold

setup_logging(snakemake.log[0])
class_set = resolve_class_set(snakemake.params.class_set)
samples = read_sample_table(snakemake.input.samples)
samples, _ = apply_class_set(samples[samples.task == "recognition"], class_set)
cfg = dict(snakemake.params.training) | {"threads": snakemake.threads}
train_fold(samples, snakemake.input.pack, test_subject=snakemake.wildcards.fold, classes=class_set.classes, cfg=cfg,
           out_predictions=snakemake.output.predictions, out_checkpoint=snakemake.output.checkpoint, fold_by=snakemake.params.fold_by,
           out_selection=snakemake.output.selection)
