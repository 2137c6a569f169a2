"""Render the synthetic demo dataset (adapter for mexp_lib.datasets.demo.generate_demo)."""
from mexp_lib.datasets.demo import generate_demo
from mexp_lib.log import setup_logging

setup_logging(snakemake.log[0])
generate_demo(snakemake.output.root, snakemake.params.settings["datasets"][snakemake.wildcards.dataset].get("generator", {}))
