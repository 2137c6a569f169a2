"""mexp_lib: the library behind the mexp micro-expression workflow.

Every stage of the Snakemake workflow is a thin script over one function of this package:
``datasets`` (loaders and the synthetic demo), ``face`` (landmarks, alignment), ``motion``
(temporal interpolation, magnification, optical flow and strain), ``models`` and ``training``
(recognition), ``spotting`` (long videos), ``metrics`` (the MEGC definitions) and ``io`` (the
file formats, written atomically).
"""

__version__ = "0.1.0"
