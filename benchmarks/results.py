"""RESULTS.md."""
from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
from pathlib import Path
from typing import Any

from benchmarks.common import (ELBO_TOLERANCE, GAN_BATCH, TARGET_FULL_S, TARGET_GAN_RATIO, TARGET_QUICK_S,
                               TARGET_RSS_GIB, TARGET_VAE_SPEEDUP, med)


def machine() -> dict[str, Any]:
    model = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        flags = next((l for l in Path("/proc/cpuinfo").read_text().splitlines() if l.startswith("flags")), "")
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


def fmt(v: float | None, nd: int = 1) -> str:
    return "—" if v is None or v != v else f"{v:,.{nd}f}"


def render(opts: argparse.Namespace, argv: list[str], m: dict[str, Any], main: dict[str, Any] | None,
           lev: dict[str, Any] | None, e2e: dict[str, Any] | None, load_end: tuple) -> str:
    L: list[str] = []
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    L.append(f"## {stamp} — `python -m benchmarks {' '.join(argv)}`".rstrip())
    L.append("")
    L.append(f"Machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), AVX512-BF16 "
             f"{'yes' if m['bf16'] else 'no'}, AMX {'yes' if m['amx'] else 'no'}; {m['os']}. Python {m['python']}, "
             f"TensorFlow {m.get('tensorflow', '?')}, Keras {m.get('keras', '?')}, NumPy {m.get('numpy', '?')}. "
             f"Load average (1/5/15 min) at start {'/'.join(f'{v:.1f}' for v in m['load_avg'])}, at end "
             f"{'/'.join(f'{v:.1f}' for v in load_end)} (the machine is shared: timings are noisy, hence medians "
             f"of alternated repeats).")
    L.append("")
    if main:
        v, g = main["vae"], main["gan"]
        vb, vh = med(v["baseline_ips"]), med(v["harness_ips"])
        gb, gh = med(g["baseline_ms"]), med(g["harness_ms"])
        speed, ratio = vh / vb, gh / gb
        vo, go = med(v["baseline_onednn_ips"]), med(g["baseline_onednn_ms"])
        dnn = main["onednn"]
        L.append(f"Baseline against harness, {main['repeats']} alternated repeats each, each side in a process of "
                 f"its own: VAE {main['vae_images']} images per repeat at batch {main['batch']}; GAN "
                 f"{main['gan_steps']} steps per repeat at batch {GAN_BATCH} after {opts.gan_warmup} warm-up steps. "
                 f"The baseline runs as a student runs it, with TensorFlow's defaults (oneDNN "
                 f"{dnn['baseline']}); the harness as `harness run` runs it (oneDNN {dnn['harness']}; "
                 f"vae.precision = {main['precision']['vae']}, gan.precision = {main['precision']['gan']}). The "
                 f"last column is the baseline with oneDNN forced on ({dnn['baseline_onednn']}): how much of the "
                 f"gain that one setting explains.")
        L.append("")
        L.append("| measure | handout baseline | harness | ratio | target | met | baseline, oneDNN on |")
        L.append("|---|---|---|---|---|---|---|")
        L.append(f"| VAE training, images/s (median) | {fmt(vb, 0)} | {fmt(vh, 0)} | **VAE speedup {speed:.2f}×** "
                 f"| ≥ {TARGET_VAE_SPEEDUP}× | {'yes' if speed >= TARGET_VAE_SPEEDUP else 'no'} | {fmt(vo, 0)} "
                 f"(harness {vh / vo:.2f}× of it) |")
        L.append(f"| GAN step, ms (median) | {fmt(gb)} | {fmt(gh)} | **GAN step ratio {ratio:.2f}×** "
                 f"| ≤ {TARGET_GAN_RATIO}× | {'yes' if ratio <= TARGET_GAN_RATIO else 'no'} | {fmt(go)} "
                 f"(harness {gh / go:.2f}× of it) |")
        L.append(f"| VAE images/s, all repeats | {', '.join(fmt(x, 0) for x in v['baseline_ips'])} | "
                 f"{', '.join(fmt(x, 0) for x in v['harness_ips'])} | | | | "
                 f"{', '.join(fmt(x, 0) for x in v['baseline_onednn_ips'])} |")
        L.append(f"| GAN ms/step, all repeats | {', '.join(fmt(x) for x in g['baseline_ms'])} | "
                 f"{', '.join(fmt(x) for x in g['harness_ms'])} | | | | "
                 f"{', '.join(fmt(x) for x in g['baseline_onednn_ms'])} |")
        c = g["baseline_d_check"]
        L.append("")
        L.append(f"Baseline D check on the weights: D changes in the D step: **{c['d_changes_in_d_step']}**; "
                 f"D frozen in the AM step: **{c['d_frozen_in_am_step']}**; G changes in the AM step: "
                 f"**{c['g_changes_in_am_step']}**.")
        q = main.get("quality")
        if q:
            qb, qh = statistics.mean(q["baseline"]), statistics.mean(q["harness"])
            spread = max(q["baseline"] + q["harness"]) - min(q["baseline"] + q["harness"])
            L.append("")
            L.append(f"Quality at equal epochs ({q['epochs']} epoch(s) on {q['n_train']} training images, batch "
                     f"{q['batch']}, test −ELBO on {q['n_test']} test images, 5 samples of z each; seeds "
                     f"1..{len(q['baseline'])}): baseline {', '.join(fmt(x, 2) for x in q['baseline'])} "
                     f"(mean {qb:.2f}); harness {', '.join(fmt(x, 2) for x in q['harness'])} (mean {qh:.2f}); "
                     f"harness − baseline {qh - qb:+.2f} nats (target: no worse than the baseline by more than "
                     f"{ELBO_TOLERANCE} nat: {'yes' if qh - qb <= ELBO_TOLERANCE else 'no'}); spread over all "
                     f"runs {spread:.2f} nats (seed-to-seed noise at this budget).")
        L.append("")
        L.append(f"Peak RSS of the largest side's process (its models, the data): {main['rss_mib']:.0f} MiB.")
        L.append("")
    if lev:
        L.extend(render_levers(lev, opts))
    if e2e:
        L.extend(render_e2e(e2e))
    return "\n".join(L) + "\n"


def _job_row(label: str, r: dict[str, Any]) -> list[str]:
    ips = med(r["ips"]) if "ips" in r else None
    ms = med(r["ms"]) if "ms" in r else None
    return [label, fmt(ips, 0), fmt(ms), fmt(r.get("neg_elbo"), 2)]


def render_levers(lev: dict[str, Any], opts: argparse.Namespace) -> list[str]:
    L = [f"Levers (harness's fused steps unless said; each row a fresh process; {opts.lever_repeats} repeats, "
         f"VAE {opts.lever_images} images per repeat, GAN {opts.gan_steps} steps; −ELBO after "
         f"{opts.quality_epochs} epoch(s) on {opts.quality_images} images):", "",
         "| lever | setting | VAE img/s | GAN ms/step | test −ELBO | peak RSS MiB |", "|---|---|---|---|---|---|"]
    for key, res in lev.items():
        if "error" in res:
            L.append(f"| {key} | — | — | — | not measured: {res['error'].replace('|', '/')} | — |")
            continue
        rss = fmt(res.get("rss_mib"), 0)
        for r in res["results"]:
            job = r["job"]
            setting = {"batch": f"batch {job.get('batch')}", "steps_per_execution": f"{job['kind']}, {job.get('spe', 1)} per call",
                       }.get(key, "")
            if key.startswith("backend"):
                setting = f"baseline {job['kind']}, {res['versions'].get('backend')}" + (
                    f" {res['versions']['jax']}" if "jax" in res["versions"] else "")
            if not setting:
                setting = f"{job['kind']}" + (" jit" if job.get("jit") else "") + (
                    ", float32 heads" if key == "mixed_bfloat16" else "")
            if "error" in r:
                L.append(f"| {key} | {setting} | not measured: {r['error'].replace('|', '/')} | | | {rss} |")
                continue
            row = _job_row(key, r)
            L.append(f"| {row[0]} | {setting} | {row[1] if job['kind'] == 'vae' else ''} | "
                     f"{row[2] if job['kind'] == 'gan' else ''} | {row[3] if row[3] != '—' else ''} | {rss} |")
    L.append("")
    return L


def render_e2e(e2e: dict[str, Any]) -> list[str]:
    L = ["| end to end | wall | target | met | peak RSS |", "|---|---|---|---|---|"]
    for key, res in e2e.items():
        if key.startswith("run "):
            target = {"quick": TARGET_QUICK_S, "full": TARGET_FULL_S}.get(res["profile"])
            goal = f"≤ {target / 60:.0f} min" if target else "—"
            if "error" in res:
                L.append(f"| `harness run --profile {res['profile']}` | failed after "
                         f"{fmt(res.get('wall_s'), 0)} s: {res['error'].replace('|', '/')} | {goal} | no | — |")
                continue
            rss_gib = res["rss_mib"] / 1024
            met = ("yes" if res["wall_s"] <= target else "no") if target else "—"
            L.append(f"| `harness run --profile {res['profile']}` from scratch | {res['wall_s'] / 60:.1f} min "
                     f"({res['wall_s']:.0f} s) | {goal} | {met} "
                     f"| {rss_gib:.2f} GiB (≤ {TARGET_RSS_GIB} GiB: {'yes' if rss_gib <= TARGET_RSS_GIB else 'no'}) |")
        elif key == "report":
            L.append(f"| `harness report --format html,pdf` on the cached run | "
                     + (f"{res['wall_s']:.1f} s" if not res.get("error") else f"failed: {res['error'].replace('|', '/')}")
                     + " | | | |")
        elif key == "explorer":
            if "error" in res or "results" not in res:
                L.append(f"| explorer update | not measured: {res.get('error', '?')} | | | |")
                continue
            ex = res["results"][0]
            for name, v in ex.items():
                if name in ("job", "wall_s"):
                    continue
                if "skipped" in v:
                    L.append(f"| explorer {name} | skipped: {v['skipped'].replace('|', '/')} | | | |")
                else:
                    L.append(f"| explorer {name} (median of 30) | {med(v['ms']):.1f} ms (model load "
                             f"{v['load_s']:.1f} s) | | | |")
    L.append("")
    return L
