"""Dataset loaders into one sample table (:mod:`mexp_lib.datasets.table`), and the demo.

:mod:`mexp_lib.datasets.load` loads a configured dataset; its names are re-exported here.
"""

from mexp_lib.datasets.load import FORMATS, LOADERS, build_sample_table, load_dataset, planned_samples
from mexp_lib.datasets.table import SAMPLE_COLUMNS, LoadReport, videos

__all__ = ["SAMPLE_COLUMNS", "FORMATS", "LOADERS", "LoadReport", "build_sample_table", "load_dataset", "planned_samples", "videos"]
