"""Benchmarks of issue 9: the handout's own code (handout_baseline.py) against the harness's training."""
