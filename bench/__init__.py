"""Benchmarks: this project against a reference in the same run; ratios, not absolute times."""
