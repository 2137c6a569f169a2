"""Hand-crafted descriptors (the field's non-deep baselines)."""
