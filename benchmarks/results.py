"""What a benchmark run reports: the machine it ran on, the Markdown tables of the comparison, the
levers and the end-to-end runs against their targets, and the entry appended to RESULTS.md."""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
from pathlib import Path
from typing import Any

from benchmarks.common import (ELBO_TOLERANCE, GAN_BATCH, TARGET_FULL_S, TARGET_GAN_RATIO, TARGET_QUICK_S,
                               TARGET_RSS_GIB, TARGET_VAE_SPEEDUP, median)

RESULTS_HEADER = "# Benchmark results (issue 9)\n\nAppended by `python -m benchmarks`; newest last.\n\n"


def machine() -> dict[str, Any]:
    """The CPU, its bfloat16 features, the load and the library versions: what a timing depends on."""
    model = platform.processor() or "?"
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
        model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), model)
        flags = next((line for line in cpuinfo if line.startswith("flags")), "")
    except OSError:
        flags = ""
    info = {"cpu": model, "cores": os.cpu_count(), "usable_cores": len(os.sched_getaffinity(0)),
            "bf16": "avx512_bf16" in flags, "amx": "amx_bf16" in flags, "python": platform.python_version(),
            "os": platform.platform(), "load_avg": os.getloadavg()}
    try:
        import keras
        import numpy
        import tensorflow as tf

        info.update(tensorflow=tf.__version__, keras=keras.__version__, numpy=numpy.__version__)
    except ImportError:
        pass
    return info


def fmt(value: float | None, digits: int = 1) -> str:
    """A number for a table cell; a dash for one not measured (None or NaN)."""
    return "—" if value is None or value != value else f"{value:,.{digits}f}"


def render(opts: argparse.Namespace, argv: list[str], machine_info: dict[str, Any],
           comparison: dict[str, Any] | None, lever_results: dict[str, Any] | None,
           end_to_end_results: dict[str, Any] | None, load_end: tuple) -> str:
    """The Markdown entry of one run: heading, machine, then each part that was measured."""
    lines: list[str] = []
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines.append(f"## {stamp} — `python -m benchmarks {' '.join(argv)}`".rstrip())
    lines.append("")
    lines.append(render_machine(machine_info, load_end))
    lines.append("")
    if comparison:
        lines.extend(render_comparison(comparison, opts))
    if lever_results:
        lines.extend(render_levers(lever_results, opts))
    if end_to_end_results:
        lines.extend(render_end_to_end(end_to_end_results))
    return "\n".join(lines) + "\n"


def render_machine(info: dict[str, Any], load_end: tuple) -> str:
    return (f"Machine: {info['cpu']}, {info['cores']} cores ({info['usable_cores']} usable), AVX512-BF16 "
            f"{'yes' if info['bf16'] else 'no'}, AMX {'yes' if info['amx'] else 'no'}; {info['os']}. Python "
            f"{info['python']}, TensorFlow {info.get('tensorflow', '?')}, Keras {info.get('keras', '?')}, NumPy "
            f"{info.get('numpy', '?')}. Load average (1/5/15 min) at start "
            f"{'/'.join(f'{v:.1f}' for v in info['load_avg'])}, at end {'/'.join(f'{v:.1f}' for v in load_end)} "
            f"(the machine is shared: timings are noisy, hence medians of alternated repeats).")


def render_comparison(comparison: dict[str, Any], opts: argparse.Namespace) -> list[str]:
    """The baseline-against-harness table, the baseline's D check and the quality at equal epochs."""
    vae, gan = comparison["vae"], comparison["gan"]
    vae_baseline, vae_harness = median(vae["baseline_ips"]), median(vae["harness_ips"])
    gan_baseline, gan_harness = median(gan["baseline_ms"]), median(gan["harness_ms"])
    speedup, step_ratio = vae_harness / vae_baseline, gan_harness / gan_baseline
    vae_onednn, gan_onednn = median(vae["baseline_onednn_ips"]), median(gan["baseline_onednn_ms"])
    onednn, precision = comparison["onednn"], comparison["precision"]
    lines = [f"Baseline against harness, {comparison['repeats']} alternated repeats each, each side in a process of "
             f"its own: VAE {comparison['vae_images']} images per repeat at batch {comparison['batch']}; GAN "
             f"{comparison['gan_steps']} steps per repeat at batch {GAN_BATCH} after {opts.gan_warmup} warm-up "
             f"steps. The baseline runs as a student runs it, with TensorFlow's defaults (oneDNN "
             f"{onednn['baseline']}); the harness as `harness run` runs it (oneDNN {onednn['harness']}; "
             f"vae.precision = {precision['vae']}, gan.precision = {precision['gan']}). The last column is the "
             f"baseline with oneDNN forced on ({onednn['baseline_onednn']}): how much of the gain that one "
             f"setting explains.", ""]
    lines.append("| measure | handout baseline | harness | ratio | target | met | baseline, oneDNN on |")
    lines.append("|---|---|---|---|---|---|---|")
    lines.append(f"| VAE training, images/s (median) | {fmt(vae_baseline, 0)} | {fmt(vae_harness, 0)} | **VAE speedup "
                 f"{speedup:.2f}×** | ≥ {TARGET_VAE_SPEEDUP}× | {'yes' if speedup >= TARGET_VAE_SPEEDUP else 'no'} "
                 f"| {fmt(vae_onednn, 0)} (harness {vae_harness / vae_onednn:.2f}× of it) |")
    lines.append(f"| GAN step, ms (median) | {fmt(gan_baseline)} | {fmt(gan_harness)} | **GAN step ratio "
                 f"{step_ratio:.2f}×** | ≤ {TARGET_GAN_RATIO}× | {'yes' if step_ratio <= TARGET_GAN_RATIO else 'no'} "
                 f"| {fmt(gan_onednn)} (harness {gan_harness / gan_onednn:.2f}× of it) |")
    lines.append(f"| VAE images/s, all repeats | {', '.join(fmt(x, 0) for x in vae['baseline_ips'])} | "
                 f"{', '.join(fmt(x, 0) for x in vae['harness_ips'])} | | | | "
                 f"{', '.join(fmt(x, 0) for x in vae['baseline_onednn_ips'])} |")
    lines.append(f"| GAN ms/step, all repeats | {', '.join(fmt(x) for x in gan['baseline_ms'])} | "
                 f"{', '.join(fmt(x) for x in gan['harness_ms'])} | | | | "
                 f"{', '.join(fmt(x) for x in gan['baseline_onednn_ms'])} |")
    d_check = gan["baseline_d_check"]
    lines.append("")
    lines.append(f"Baseline D check on the weights: D changes in the D step: **{d_check['d_changes_in_d_step']}**; "
                 f"D frozen in the AM step: **{d_check['d_frozen_in_am_step']}**; G changes in the AM step: "
                 f"**{d_check['g_changes_in_am_step']}**.")
    quality = comparison.get("quality")
    if quality:
        lines.append("")
        lines.append(render_quality(quality))
    lines.append("")
    lines.append(f"Peak RSS of the largest side's process (its models, the data): {comparison['rss_mib']:.0f} MiB.")
    lines.append("")
    return lines


def render_quality(quality: dict[str, Any]) -> str:
    baseline, harness = quality["baseline"], quality["harness"]
    baseline_mean, harness_mean = statistics.mean(baseline), statistics.mean(harness)
    spread = max(baseline + harness) - min(baseline + harness)
    gap = harness_mean - baseline_mean
    return (f"Quality at equal epochs ({quality['epochs']} epoch(s) on {quality['n_train']} training images, batch "
            f"{quality['batch']}, test −ELBO on {quality['n_test']} test images, 5 samples of z each; seeds "
            f"1..{len(baseline)}): baseline {', '.join(fmt(x, 2) for x in baseline)} "
            f"(mean {baseline_mean:.2f}); harness {', '.join(fmt(x, 2) for x in harness)} (mean {harness_mean:.2f}); "
            f"harness − baseline {gap:+.2f} nats (target: no worse than the baseline by more than "
            f"{ELBO_TOLERANCE} nat: {'yes' if gap <= ELBO_TOLERANCE else 'no'}); spread over all "
            f"runs {spread:.2f} nats (seed-to-seed noise at this budget).")


def _job_cells(result: dict[str, Any]) -> tuple[str, str, str]:
    """A worker job's images/s, ms/step and −ELBO as table cells."""
    ips = median(result["ips"]) if "ips" in result else None
    ms = median(result["ms"]) if "ms" in result else None
    return fmt(ips, 0), fmt(ms), fmt(result.get("neg_elbo"), 2)


def _lever_setting(lever: str, job: dict[str, Any], versions: dict[str, str]) -> str:
    """The setting a row of the lever table measured, in words."""
    if lever == "batch":
        return f"batch {job.get('batch')}"
    if lever == "steps_per_execution":
        return f"{job['kind']}, {job.get('spe', 1)} per call"
    if lever.startswith("backend"):
        return f"baseline {job['kind']}, {versions.get('backend')}" + (f" {versions['jax']}" if "jax" in versions else "")
    return f"{job['kind']}" + (" jit" if job.get("jit") else "") + (", float32 heads" if lever == "mixed_bfloat16" else "")


def render_levers(lever_results: dict[str, Any], opts: argparse.Namespace) -> list[str]:
    lines = [f"Levers (harness's fused steps unless said; each row a fresh process; {opts.lever_repeats} repeats, "
             f"VAE {opts.lever_images} images per repeat, GAN {opts.gan_steps} steps; −ELBO after "
             f"{opts.quality_epochs} epoch(s) on {opts.quality_images} images):", "",
             "| lever | setting | VAE img/s | GAN ms/step | test −ELBO | peak RSS MiB |", "|---|---|---|---|---|---|"]
    for lever, measured in lever_results.items():
        if "error" in measured:
            lines.append(f"| {lever} | — | — | — | not measured: {measured['error'].replace('|', '/')} | — |")
            continue
        rss = fmt(measured.get("rss_mib"), 0)
        for result in measured["results"]:
            job = result["job"]
            setting = _lever_setting(lever, job, measured["versions"])
            if "error" in result:
                lines.append(f"| {lever} | {setting} | not measured: {result['error'].replace('|', '/')} | | | {rss} |")
                continue
            ips, ms, neg_elbo = _job_cells(result)
            lines.append(f"| {lever} | {setting} | {ips if job['kind'] == 'vae' else ''} | "
                         f"{ms if job['kind'] == 'gan' else ''} | {neg_elbo if neg_elbo != '—' else ''} | {rss} |")
    lines.append("")
    return lines


def render_end_to_end(end_to_end_results: dict[str, Any]) -> list[str]:
    lines = ["| end to end | wall | target | met | peak RSS |", "|---|---|---|---|---|"]
    for key, measured in end_to_end_results.items():
        if key.startswith("run "):
            lines.append(_run_row(measured))
        elif key == "report":
            lines.append("| `harness report --format html,pdf` on the cached run | "
                         + (f"{measured['wall_s']:.1f} s" if not measured.get("error")
                            else f"failed: {measured['error'].replace('|', '/')}")
                         + " | | | |")
        elif key == "explorer":
            if "error" in measured or "results" not in measured:
                lines.append(f"| explorer update | not measured: {measured.get('error', '?')} | | | |")
                continue
            for name, latency in measured["results"][0].items():
                if name in ("job", "wall_s"):
                    continue
                if "skipped" in latency:
                    lines.append(f"| explorer {name} | skipped: {latency['skipped'].replace('|', '/')} | | | |")
                else:
                    lines.append(f"| explorer {name} (median of 30) | {median(latency['ms']):.1f} ms (model load "
                                 f"{latency['load_s']:.1f} s) | | | |")
    lines.append("")
    return lines


def _run_row(run: dict[str, Any]) -> str:
    """One `harness run --profile P` against its wall-time and peak-RSS targets."""
    target_s = {"quick": TARGET_QUICK_S, "full": TARGET_FULL_S}.get(run["profile"])
    goal = f"≤ {target_s / 60:.0f} min" if target_s else "—"
    if "error" in run:
        return (f"| `harness run --profile {run['profile']}` | failed after "
                f"{fmt(run.get('wall_s'), 0)} s: {run['error'].replace('|', '/')} | {goal} | no | — |")
    rss_gib = run["rss_mib"] / 1024
    met = ("yes" if run["wall_s"] <= target_s else "no") if target_s else "—"
    return (f"| `harness run --profile {run['profile']}` from scratch | {run['wall_s'] / 60:.1f} min "
            f"({run['wall_s']:.0f} s) | {goal} | {met} "
            f"| {rss_gib:.2f} GiB (≤ {TARGET_RSS_GIB} GiB: {'yes' if rss_gib <= TARGET_RSS_GIB else 'no'}) |")


def append(path: Path, entry: str) -> None:
    """Appends an entry to a results file, with the file's header when it is new."""
    header = "" if path.exists() else RESULTS_HEADER
    with path.open("a", encoding="utf-8") as f:
        f.write(header + entry + "\n")
