# mexp: micro-expression spotting and recognition, from frames to metric tables.
#
# Path convention (every per-video stage mirrors its wildcards):
#   results/datasets/{dataset}/                 the generated demo dataset (format: demo)
#   results/samples/{dataset}.csv               the validated sample table
#   results/landmarks/{dataset}/{chunk}/{video}.json    68-point landmarks per frame
#   results/faces/{dataset}/{chunk}/{video}.h5          aligned, cropped faces
#   results/tim/{dataset}/{chunk}/{sample}.h5           a sample's clip, cut from its video by its own onset..offset, normalised
#   results/magnified/{dataset}/{chunk}/{sample}.h5     magnified clips (when magnification.enabled)
#   results/flow/{dataset}/{chunk}/{sample}.h5          optical flow + strain (recognition)
#   results/train/{dataset}/{fold}/             per-fold predictions and checkpoint
#   results/spotting_features/{dataset}/{video}.h5, results/spotting/{dataset}/   (long videos)
#   results/{dataset}_loso_metrics.csv, results/{dataset}_spotting_metrics.csv    metric tables
#   results/qc/{dataset}_faces.{csv,png}        face-stage quality control
#   logs/{rule}/{dataset}/{chunk, video or sample}.log, benchmarks/{rule}/{dataset}/{chunk, video or sample}.tsv
# (a video's landmarks and faces are shared by all its samples; {sample} ids are unique per dataset;
# the per-clip stages run one job per {chunk} of clips, a folder of per-video/per-sample files:
# batching.clips_per_job, mexp_lib/chunks.py)
#
# `snakemake --lint` leaves one kind of warning, on purpose: "Specify a conda environment or
# container for each rule". Every script imports mexp_lib, so the workflow runs in the one
# environment that installs it (`make install`, or environment.yml for conda users); per-rule
# environments would each need mexp_lib and its pinned torch/OpenCV again. `make lint`
# (workflow/lint.py) passes that lint and fails on any other.
from snakemake.utils import min_version

from mexp_lib.config import check_config_yaml, resolve_config

min_version("9.0")

# Malformed YAML stops in one line naming the file and line (Snakemake's message names neither).
check_config_yaml("config/config.yaml")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


# Every default comes from the schema, filled in once, deep (setting one flow.tvl1 key keeps the
# others); a typo or a bad value stops here in one line naming the key (mexp_lib.config).
config.update(resolve_config(config, exit=True))


include: "workflow/rules/common.smk"
include: "workflow/rules/datasets.smk"
include: "workflow/rules/face.smk"
include: "workflow/rules/motion.smk"
include: "workflow/rules/recognition.smk"
include: "workflow/rules/spotting.smk"


rule all:
    default_target: True
    input:
        get_all_targets(),
