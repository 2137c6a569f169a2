"""Pack every recognition sample's model input into one store (adapter for mexp_lib.recognition.inputs.build_inputs)."""
from mexp_lib.datasets.table import read_sample_table
from mexp_lib.log import logger, setup_logging
from mexp_lib.recognition.inputs import build_inputs
from mexp_lib.recognition.kinds import input_kinds
from mexp_lib.recognition.samples import select_samples

setup_logging(snakemake.log[0])
p = snakemake.params
samples, _ = select_samples(read_sample_table(snakemake.input.samples), p.settings["recognition"])
t = p.settings["training"]
n = build_inputs(samples, dict(p.sources), size=int(t["input_size"]), out=snakemake.output[0], kinds=input_kinds(t), clips=dict(p.clips), faces=dict(p.faces),
                 field=dict(t["flow_svm"]))
logger.info("%d of %d samples packed into %s", n, len(samples), snakemake.output[0])
