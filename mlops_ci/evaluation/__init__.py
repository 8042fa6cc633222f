"""Evaluation you can trust: streaming metrics, slices, plot data (issue 10)."""
