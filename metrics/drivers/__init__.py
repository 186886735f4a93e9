"""Key-driver analysis: what moves an outcome score, with relative weights and bootstrap
intervals, computed in a task and cached per (survey, outcome, filters)."""
