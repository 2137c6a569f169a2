"""Recognition: from the samples' clips to the leave-one-subject-out metric table.

One module per part, each stage's entry function named after its rule:

* :mod:`mexp_lib.recognition.samples` -- which samples a dataset's recognition uses
  (``select_samples``: short clips, and with ``long_videos`` the expressions of long videos);
* :mod:`mexp_lib.recognition.kinds` -- what each model reads (``input_kind``, the candidates of ``auto``; free of torch,
  the workflow asks it when it parses);
* :mod:`mexp_lib.recognition.inputs` -- the model inputs of every sample packed into one store
  (``build_inputs``, one array per input kind the candidate models read);
* :mod:`mexp_lib.recognition.train` -- one leak-free fold (``train_fold``), built on
  :mod:`mexp_lib.recognition.fit` (one model fitted and its predictions, networks and SVMs) and
  :mod:`mexp_lib.recognition.selection` (``training.model: auto`` and hyper-parameter grids:
  nested selection over the fold's training subjects);
* :mod:`mexp_lib.recognition.svm` -- the one linear-SVM code path (``flow_svm`` and its
  features, ``lbptop_svm``, and :mod:`mexp_lib.recognition.baseline`'s LOSO floor);
* :mod:`mexp_lib.recognition.descriptor_svm` -- a LOSO linear SVM on given descriptors (``svm_loso``,
  e.g. published LBP-TOP features);
* :mod:`mexp_lib.recognition.evaluate` -- the pooled metric table (``evaluate_recognition``).

The motion stage before them (``normalise_clip``, ``magnify_motion``, ``compute_flow``) works
per sample too, in :mod:`mexp_lib.motion.stage`. This package imports nothing heavy itself.
"""

from mexp_lib.recognition.kinds import INPUT_KINDS, input_kind
from mexp_lib.recognition.samples import select_samples

__all__ = ["INPUT_KINDS", "input_kind", "select_samples"]
