"""The reference rows of the comparison (issue 19) from a saved evaluator, without retraining anything.

    python -m benchmarks.metric_references RUN_FOLDER/items/eval.classifier/models/classifier.keras \\
        --n-train 60000 --n-test 10000

scores the four reference sets (experiments/evaluation/references.py) exactly as eval.classifier
does, with that classifier and that many MNIST images (a profile's data.n_train and n_test), and
prints each fidelity and diversity metric with its verdict. Where a full run's evaluator exists
and its models do not, this gives the `full` reference rows in a few minutes.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

METRICS = ("density", "coverage", "precision", "recall")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("classifier", type=Path, help="an eval.classifier models/classifier.keras")
    parser.add_argument("--n-train", type=int, default=60000)
    parser.add_argument("--n-test", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=395, help="draws the reference images")
    args = parser.parse_args(argv)
    if not args.classifier.is_file():
        print(f"no classifier at {args.classifier}: pass an eval.classifier models/classifier.keras", file=sys.stderr)
        return 2

    import keras

    from experiments.evaluation import references
    from harness.context import Splits
    from harness.data import load_dataset
    from harness.train.evaluation import Evaluator

    data = Splits.from_dataset(load_dataset("mnist"), args.n_train, args.n_test)
    evaluator = Evaluator(keras.saving.load_model(args.classifier, safe_mode=True), data.x_test)
    images = references.reference_images(data, np.random.default_rng(args.seed))
    scores = {name: evaluator.score(x) for name, x in images.items()}
    print(f"{'set':10s} {'n':>6s} {'FID':>8s} " + " ".join(f"{m:>9s}" for m in METRICS))
    for name, s in scores.items():
        print(f"{name:10s} {s['n']:6d} {s['fid']:8.2f} " + " ".join(f"{s[m]:9.3f}" for m in METRICS))
    for metric in METRICS:
        failed = references.failures(metric, scores)
        print(f"{metric}: {'passes' if not failed else 'fails on ' + ', '.join(failed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
