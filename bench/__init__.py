"""Benchmarks and visual checks; run them with ``python -m bench.<name>``."""
