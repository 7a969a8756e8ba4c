"""Is the FID's bootstrap error honest? Score one trained VAE on several independent noise draws.

Every comparison in the answers is judged against the bootstrap standard error of FID-MNIST
(harness.train.uncertainty). This check draws `draws` fresh sets of `n` prior samples from the
VAE of item 1.1e of a finished run, scores each against the full MNIST test set, and prints the
spread of those FIDs beside the median bootstrap error of each set: the two should agree.

    python -m benchmarks.fid_uncertainty RUN_FOLDER [--n 500] [--draws 10]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def load_output(run: Path, item_id: str):
    from harness.context import ItemOutput

    path = run / "items" / item_id / "result.json"
    if not path.exists():
        raise SystemExit(f"{run} has no finished item {item_id}; run `harness run 1.1e` there first")
    return ItemOutput(item_id, path.parent, json.loads(path.read_text()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a run folder (reports/<run-id>) with eval.classifier and 1.1e done")
    parser.add_argument("--n", type=int, default=500, help="samples per draw (eval.n_samples of the profile)")
    parser.add_argument("--draws", type=int, default=10)
    args = parser.parse_args(argv)
    if args.n < 10 or args.draws < 3:
        raise SystemExit("use --n of at least 10 and --draws of at least 3")

    import experiments.vae.models  # noqa: F401  (registers the VAE class the saved model names)
    from harness.data import load_dataset
    from harness.train.evaluation import Evaluator

    x_test = (load_dataset("mnist").x_test.astype("float32") / 255.0)[..., None]   # as the items see it
    evaluator = Evaluator(load_output(args.run, "eval.classifier").model("classifier"), x_test)
    decoder = load_output(args.run, "1.1e").model("vae").decoder
    fids, errors = [], []
    for seed in range(args.draws):
        z = np.random.default_rng(seed).standard_normal((args.n, decoder.input_shape[-1])).astype("float32")
        scores = evaluator.score(np.asarray(decoder.predict(z, batch_size=1000, verbose=0)))
        fids.append(scores["fid"])
        errors.append(scores["fid_se"])
    spread = float(np.std(fids, ddof=1))
    print(f"n={args.n}, {args.draws} draws: FID mean {np.mean(fids):.2f}; sd over draws {spread:.3f}; "
          f"bootstrap se median {np.median(errors):.3f} (range {min(errors):.3f}–{max(errors):.3f}); "
          f"ratio {np.median(errors) / spread:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
