"""1.2e's cost comparison: what the GAN and the VAE compute per image, and what that costs in time.

Times are quoted, never re-measured: each model's sampling speed is the one its
training item measured (harness.train.timing), and training time is the steady
state with the one-off compilation apart. The work per image is counted from the
layers (forward_flops). Training costs about three forward passes per network
trained (the backward pass computes gradients for both the inputs and the
weights, about twice the forward's work), so per real image of a handout step:

- VAE: encoder and decoder, forward and backward: 3 (E + Dec);
- GAN, D step: G makes one fake per real image (forward, 1 G), D trains on the
  real and the fake (3 D each, 6 D);
- GAN, G step: one fresh fake per real image, through G and D forward and back;
  D's weights get no gradient there, only its inputs (2 D), G gets both (3 G).
  In all 4 G + 8 D.
"""
from __future__ import annotations

from typing import Any

from harness.train.timing import SAMPLE_BATCH, TIMED_CALLS, forward_flops
from harness.words import words

W = words(__file__)

FID_SE_NOTE = W("fid_se_note")
NOTES = {**W.table("notes"), "sample_ips": W.fill("notes", "sample_ips", timed_calls=TIMED_CALLS, sample_batch=SAMPLE_BATCH)}


def costs(gan_run: Any, vae_run: Any, discriminator: Any, generator: Any, vae: Any, batch_size: int) -> dict[str, float]:
    """Every cost figure of the comparison, from 1.2d's and 1.1e's outputs and the models' layers."""
    g, d = forward_flops(generator), forward_flops(discriminator)
    enc, dec = forward_flops(vae.encoder), forward_flops(vae.decoder)
    gan, vae_m = gan_run.metrics, vae_run.metrics
    gan_train_ips = batch_size * 1000.0 / gan["ms_per_step"]
    out = {
        "gan_sample_ips": gan["sample_ips"], "vae_sample_ips": vae_m["sample_ips"],
        "gan_sample_mflops": g / 1e6, "vae_sample_mflops": dec / 1e6,
        "gan_train_mflops": (4 * g + 8 * d) / 1e6, "vae_train_mflops": 3 * (enc + dec) / 1e6,
        "d_mflops": d / 1e6, "encoder_mflops": enc / 1e6,
        "gan_ms_per_step": gan["ms_per_step"], "vae_s_per_epoch": vae_m["s_per_epoch"],
        "gan_warmup_s": gan["warmup_s"], "vae_warmup_s": vae_m["warmup_s"],
        "gan_steady_train_s": gan["steady_train_s"], "vae_steady_train_s": vae_m["steady_train_s"],
        "gan_train_s": gan["train_s"], "vae_train_s": vae_m["train_s"],
        "gan_train_images_per_s": gan_train_ips, "vae_train_images_per_s": vae_m["images_per_s"],
        "gan_train_images": gan["steps"] * batch_size, "vae_train_images": vae_m["epochs"] * vae_m["n_train"],
    }
    # Work done per second while training: equal rates mean the time gap is the work gap.
    out["sample_batch"], out["timed_calls"] = SAMPLE_BATCH, TIMED_CALLS
    out["gan_train_gflops_per_s"] = out["gan_train_mflops"] * gan_train_ips / 1e3
    out["vae_train_gflops_per_s"] = out["vae_train_mflops"] * out["vae_train_images_per_s"] / 1e3
    return out




def _unit_and_note(name: str) -> tuple[str | None, dict[str, str] | None]:
    if name.endswith("sample_ips"):
        return "img/s", NOTES["sample_ips"]
    if name.endswith("train_mflops"):
        return "MFLOP", NOTES["train_mflops"]
    if name.endswith("mflops"):
        return "MFLOP", NOTES["mflops"]
    if name.endswith("gflops_per_s"):
        return "GFLOP/s", None
    if name.endswith("images_per_s"):
        return "img/s", None
    if "steady" in name or name.endswith(("ms_per_step", "s_per_epoch")):
        return ("ms" if name.endswith("ms_per_step") else "s"), NOTES["steady"]
    if name.endswith("_s"):
        return "s", None
    return None, None


def record_costs(ctx: Any, cost: dict[str, float]) -> None:
    for name, value in cost.items():
        unit, note = _unit_and_note(name)
        ctx.metric(name, value, unit, note=note)
