"""The training toolkit items use: steps written once for TensorFlow and JAX, fused kernels,
hardware and environment probes, evaluation metrics (FID-MNIST, precision/recall, class
coverage, density/coverage), timing and uncertainty, seeding, and architecture tables and drawings.

May import: harness.errors, harness.config, harness.data, and the numeric libraries. Never
imports the runner, the faces, nor experiments: an item may use any of it.
"""
