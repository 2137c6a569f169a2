"""What each recognition model reads (kept free of torch: the workflow asks it when it parses)."""

from __future__ import annotations

from mexp_lib.errors import ConfigError

# What each model reads: "apex" = (3, s, s) onset->apex u, v, strain; "sequence" = (T, 3, s, s)
# the onset-referenced flow of every frame of the normalised clip; "sequence_grey" = (T, 4, s, s)
# the same plus the grey frame (ELRCN); "lbptop" = the LBP-TOP descriptor of the normalised (or
# magnified) grey clip, resized to s x s.
INPUT_KINDS = {
    "ststnet": "apex", "offapexnet": "apex", "aufusion": "apex", "htnet": "apex",
    "c3d": "sequence", "cnn_lstm": "sequence", "convlstm": "sequence", "cnn2d_vote": "sequence",
    "elrcn_se": "sequence_grey", "elrcn_te": "sequence_grey",
    "lbptop_svm": "lbptop",
}


def input_kind(model: str) -> str:
    """``apex``, ``sequence``, ``sequence_grey`` or ``lbptop`` for a model name (ConfigError for an
    unknown one)."""
    if model not in INPUT_KINDS:
        raise ConfigError(f"training.model: unknown model {model!r} (available: {sorted(INPUT_KINDS)})")
    return INPUT_KINDS[model]
