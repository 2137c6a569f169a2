"""mexp_lib: the library behind the mexp micro-expression workflow.

Every stage of the Snakemake workflow is a thin script over one function of this package:
``datasets`` (loaders and the synthetic demo), ``face`` (landmarks, alignment), ``motion``
(a sample's clip cut from its video, temporal interpolation, magnification, optical flow and
strain), ``recognition`` (samples, model inputs, training folds, metric tables) over ``models``,
``spotting`` (long videos), ``metrics`` (the MEGC definitions), ``provenance``, ``device`` and
``io`` (the file formats, written atomically). Each stage's entry function carries its rule's name.
"""

__version__ = "0.1.0"
