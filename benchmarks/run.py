"""Benchmarks (issue 9): the handout's own code (benchmarks/handout_baseline.py) against the
harness's training, measured in one run on one machine.

    python -m benchmarks [--quick] [--levers] [--end-to-end quick|full] [--cached-run R]

Default: VAE training images/s and GAN ms per step, baseline and harness alternated repeat by
repeat (so a burst of load from other processes hits both sides alike), medians and ratios;
then the VAE's test negative ELBO of both at equal epochs (quality must hold). --levers adds
the thread settings, VAE batch size, mixed bfloat16, XLA jit_compile, steps_per_execution and
the JAX backend, each measured in a fresh subprocess because each is process-wide state
(TF's thread pools are fixed at start-up, the dtype policy is read when layers are built).
Results are printed and appended to benchmarks/RESULTS.md (or --results PATH) as Markdown.

Nothing here asserts a timing: the numbers are reported, the targets compared and said.

This module is the command line and its dispatch; what is measured lives beside it:
compare (baseline against harness, and quality at equal epochs), levers (one worker per
setting), end_to_end (`harness run` wall time, the report, the explorers), with sides (how each
side trains and is timed), quality (the −ELBO estimator), workers (fresh processes), results
(the Markdown written to RESULTS.md) and common. The measured figures are in RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
from pathlib import Path

if __package__ in (None, ""):  # `python benchmarks/run.py` as well as `python -m benchmarks`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import results
from benchmarks.common import MARK, RESULTS, ROOT, USER_ENV, peak_rss_mib, progress
from benchmarks.compare import compare, serve
from benchmarks.end_to_end import wall_times
from benchmarks.levers import levers
from benchmarks.workers import worker


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and smaller sizes: a smoke check")
    parser.add_argument("--steps", type=int, help="GAN steps per repeat, and VAE batches per repeat (overrides sizes)")
    parser.add_argument("--repeats", type=int, help="timed repeats per side (default 5; 2 with --quick)")
    parser.add_argument("--batch", type=int, default=100,
                        help="VAE batch size, both sides (default 100: the harness's)")
    parser.add_argument("--quality-images", type=int, help="training images for the equal-epoch −ELBO check "
                        "(default 10000; 0 skips it)")
    parser.add_argument("--quality-epochs", type=int, default=1)
    parser.add_argument("--quality-seeds", type=int, help="seeds per side for the −ELBO check (default 2)")
    parser.add_argument("--levers", action="store_true", help="also measure the levers of issue 9")
    parser.add_argument("--end-to-end", choices=["smoke", "quick", "full"], action="append", default=[],
                        help="wall time of `harness run --profile P` from scratch (repeatable)")
    parser.add_argument("--cached-run", metavar="RUN", help="time the report and the explorer on a copy of this "
                        "run (under --root); default: the end-to-end run, when there is one")
    parser.add_argument("--root", default=os.environ.get("HARNESS_REPORTS", str(ROOT / "reports")),
                        help="reports root holding --cached-run")
    parser.add_argument("--jax-path", help="a folder holding jax/jaxlib to add to PYTHONPATH for the JAX worker")
    parser.add_argument("--results", default=str(RESULTS),
                        help="Markdown file to append to (default benchmarks/RESULTS.md)")
    parser.add_argument("--e2e-root", metavar="DIR", help="run the end-to-end profiles in this reports root and "
                        "keep them (run id bench-PROFILE), e.g. to present them with harness serve; default: a temp "
                        "folder")
    parser.add_argument("--precision", choices=["float32", "mixed_bfloat16"],
                        help="train the harness side in this precision (default: what the full profile sets)")
    parser.add_argument("--no-compare", action="store_true", help="skip the main baseline-versus-harness comparison")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # a fresh process's spec (benchmarks.workers)
    parser.add_argument("--serve", help=argparse.SUPPRESS)   # a comparison side's role (benchmarks.compare)
    opts = parser.parse_args(argv)
    opts.repeats = opts.repeats or (2 if opts.quick else 5)
    opts.quality_seeds = opts.quality_seeds or (1 if opts.quick else 2)
    if opts.quality_images is None:
        opts.quality_images = 10000
    opts.quality_test = 2000 if opts.quick else 10000
    if opts.steps:
        opts.gan_steps, opts.vae_images = opts.steps, opts.steps * opts.batch
    else:
        opts.gan_steps = 5 if opts.quick else 20
        opts.vae_images = 1000 if opts.quick else 6000
    opts.gan_warmup = 2 if opts.quick else 5
    opts.lever_repeats = 2 if opts.quick else 3
    opts.lever_images = opts.vae_images
    return opts


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    opts = parse(argv)
    if opts.worker:
        print(MARK + json.dumps(worker(json.loads(opts.worker))), flush=True)
        return 0
    if opts.serve:
        serve(opts.serve)
        return 0
    if opts.precision:
        os.environ["BENCH_PRECISION"] = opts.precision  # read by harness_precision, here and in workers
        USER_ENV["BENCH_PRECISION"] = opts.precision
    machine_info = results.machine()
    progress(f"{machine_info['cpu']}, {machine_info['cores']} cores, load {machine_info['load_avg']}")
    comparison = None if opts.no_compare else compare(opts)
    lever_results = levers(opts) if opts.levers else None
    end_to_end_results = wall_times(opts)
    entry = results.render(opts, argv, machine_info, comparison, lever_results, end_to_end_results or None,
                           os.getloadavg())
    children_mib = peak_rss_mib(resource.RUSAGE_CHILDREN)
    entry += f"Peak RSS: this process {peak_rss_mib():.0f} MiB; largest child process {children_mib:.0f} MiB.\n"
    print(entry)
    if opts.results:
        results.append(Path(opts.results), entry)
    return 0


if __name__ == "__main__":
    sys.exit(main())
