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
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python benchmarks/run.py` as well as `python -m benchmarks`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import MARK, RESULTS, ROOT, USER_ENV, peak_rss_mib, progress
from benchmarks.compare import compare, serve
from benchmarks.end_to_end import end_to_end, report_time
from benchmarks.levers import levers
from benchmarks.results import machine, render
from benchmarks.workers import spawn, worker


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer repeats and smaller sizes: a smoke check")
    p.add_argument("--steps", type=int, help="GAN steps per repeat, and VAE batches per repeat (overrides sizes)")
    p.add_argument("--repeats", type=int, help="timed repeats per side (default 5; 2 with --quick)")
    p.add_argument("--batch", type=int, default=100, help="VAE batch size, both sides (default 100: the harness's)")
    p.add_argument("--quality-images", type=int, help="training images for the equal-epoch −ELBO check "
                   "(default 10000; 0 skips it)")
    p.add_argument("--quality-epochs", type=int, default=1)
    p.add_argument("--quality-seeds", type=int, help="seeds per side for the −ELBO check (default 2)")
    p.add_argument("--levers", action="store_true", help="also measure the levers of issue 9")
    p.add_argument("--end-to-end", choices=["smoke", "quick", "full"], action="append", default=[],
                   help="wall time of `harness run --profile P` from scratch (repeatable)")
    p.add_argument("--cached-run", metavar="RUN", help="time the report and the explorer on a copy of this run "
                   "(under --root); default: the end-to-end run, when there is one")
    p.add_argument("--root", default=os.environ.get("HARNESS_REPORTS", str(ROOT / "reports")),
                   help="reports root holding --cached-run")
    p.add_argument("--jax-path", help="a folder holding jax/jaxlib to add to PYTHONPATH for the JAX worker")
    p.add_argument("--results", default=str(RESULTS), help="Markdown file to append to (default benchmarks/RESULTS.md)")
    p.add_argument("--e2e-root", metavar="DIR", help="run the end-to-end profiles in this reports root and keep "
                   "them (run id bench-PROFILE), e.g. to present them with harness serve; default: a temp folder")
    p.add_argument("--precision", choices=["float32", "mixed_bfloat16"],
                   help="train the harness side in this precision (default: what the full profile sets)")
    p.add_argument("--no-compare", action="store_true", help="skip the main baseline-versus-harness comparison")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--serve", help=argparse.SUPPRESS)
    o = p.parse_args(argv)
    o.repeats = o.repeats or (2 if o.quick else 5)
    o.quality_seeds = o.quality_seeds or (1 if o.quick else 2)
    if o.quality_images is None:
        o.quality_images = 10000
    o.quality_test = 2000 if o.quick else 10000
    if o.steps:
        o.gan_steps, o.vae_images = o.steps, o.steps * o.batch
    else:
        o.gan_steps = 5 if o.quick else 20
        o.vae_images = 1000 if o.quick else 6000
    o.gan_warmup = 2 if o.quick else 5
    o.lever_repeats = 2 if o.quick else 3
    o.lever_images = o.vae_images
    return o


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
    m = machine()
    progress(f"{m['cpu']}, {m['cores']} cores, load {m['load_avg']}")
    main_res = None if opts.no_compare else compare(opts)
    lev = levers(opts) if opts.levers else None
    e2e: dict[str, Any] = {}
    tmp = Path(tempfile.mkdtemp(prefix="inf395-bench-"))
    try:
        cached: tuple[Path, str] | None = None
        for profile in opts.end_to_end:
            root = Path(opts.e2e_root) if opts.e2e_root else tmp / f"e2e-{profile}"
            if opts.e2e_root and (root / f"bench-{profile}").exists():
                raise SystemExit(f"--e2e-root {root}: run 'bench-{profile}' already exists; remove it so the "
                                 f"end-to-end run starts from scratch")
            res = end_to_end(profile, root)
            e2e[f"run {profile}"] = res
            if "error" not in res:
                cached = (root, res["run"])
        if opts.cached_run:
            src = Path(opts.root) / opts.cached_run
            # A copy: the report writes into the run folder, and the user's run stays untouched.
            shutil.copytree(src, tmp / "cached" / opts.cached_run, symlinks=True)
            cached = (tmp / "cached", opts.cached_run)
        if cached:
            e2e["report"] = report_time(*cached)
            e2e["explorer"] = spawn("explorer", {"n_train": 1, "n_test": 2000, "jobs": [
                {"kind": "explorer", "model": "-", "root": str(cached[0]), "run": cached[1]}]})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = render(opts, argv, m, main_res, lev, e2e or None, os.getloadavg())
    children = peak_rss_mib(resource.RUSAGE_CHILDREN)
    text += f"Peak RSS: this process {peak_rss_mib():.0f} MiB; largest child process {children:.0f} MiB.\n"
    print(text)
    if opts.results:
        path = Path(opts.results)
        head = "" if path.exists() else "# Benchmark results (issue 9)\n\nAppended by `python -m benchmarks`; newest last.\n\n"
        with path.open("a", encoding="utf-8") as f:
            f.write(head + text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
