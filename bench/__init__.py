"""Reproducible benchmarks of the 1Click API (``python -m bench``); see bench/README.md."""
