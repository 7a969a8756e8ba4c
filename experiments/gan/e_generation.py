"""1.2e: new digits from the trained G, and the GAN against the VAE.

Samples come from U(-1, 1), the law G was trained with. The VAE of 1.1e is
sampled from its N(0, I) prior and scored by the same evaluator on as many
images, so quality (FID-MNIST, class coverage), sampling speed and training
time compare on equal terms.
"""
from __future__ import annotations

import numpy as np

from experiments.gan.figures import class_histogram_figure, comparison_grids, image_grid, manifold_figure
from experiments.gan.models import sample_noise
from experiments.gan.training import CODE, EVALUATOR_ITEM, evaluator, generate, n_eval_samples, sample_images, score
from harness.train.evaluation import SAMPLE_SEED
from harness.registry import item

VAE_ITEM = "1.1e"
MANIFOLD_N = 20


def vae_samples(ctx, n: int) -> tuple[np.ndarray, float]:
    """n images decoded from the 1.1e VAE's N(0, I) prior, and the decoding rate (same method as G's)."""
    import time

    vae = ctx.input(VAE_ITEM).model("vae")
    z = np.random.default_rng(SAMPLE_SEED).standard_normal((n, vae.latent_dim)).astype("float32")  # as 1.1e
    vae.decoder.predict(z[:10], verbose=0)
    t0 = time.perf_counter()
    images = np.asarray(vae.decoder.predict(z, batch_size=1000, verbose=0))
    return images, n / (time.perf_counter() - t0)


def labelled(ev, images: np.ndarray) -> list[str]:
    digits, conf = ev.classify(images)
    return [f"{d} ({c:.0%})" for d, c in zip(digits, conf)]


@item("1.2e", "Generating digits with G, compared with the VAE", needs=("1.2d", VAE_ITEM, EVALUATOR_ITEM), config=("gan", "eval"), extra_code=CODE,
      shows=("gan_samples",))
def generation(ctx):
    gan_cfg = ctx.settings("gan")
    noise, dim = gan_cfg["noise"], gan_cfg["noise_dim"]
    base = ctx.input("1.2d")
    g = base.model("generator")
    ev = evaluator(ctx)

    # The handout's cell: noise U(-1, 1), G.predict, a 4x4 subplot grid (it draws N = 10 and leaves 6 cells empty; we fill all 16).
    z16 = sample_noise(noise, 16, dim, ctx.seed)
    few = generate(g, z16)
    ctx.check("noise_uniform_in_range", noise == "uniform" and float(z16.min()) >= -1 and float(z16.max()) <= 1,
              {"es": "z ~ U(-1, 1), como se entrenó G", "en": "z ~ U(-1, 1), as G was trained"},
              expected=["uniform", -1, 1], observed=[noise, float(z16.min()), float(z16.max())])
    ctx.figure("samples_4x4", image_grid(few, 4, 4, "G(z), z ~ U(-1, 1)", size=1.2, labels=labelled(ev, few)), {
        "es": "16 dígitos nuevos en la grilla 4×4 del enunciado (sobre cada uno, el dígito que ve el evaluador y su confianza)",
        "en": "16 new digits in the handout's 4×4 grid (above each, the digit the evaluator sees and its confidence)"})

    n = n_eval_samples(ctx)
    gan_images, gan_ips = sample_images(g, noise, dim, n, SAMPLE_SEED)  # the draw 1.2d was scored on
    ctx.figure("samples_10x10", image_grid(gan_images[:100], 10, 10, "100 samples of G", size=0.8), {
        "es": "100 muestras al azar de G", "en": "100 random samples of G"})
    if dim == 2:
        axis = np.linspace(-1, 1, MANIFOLD_N, dtype="float32")
        grid = np.array([[x, y] for y in axis[::-1] for x in axis], dtype="float32")
        ctx.figure("latent_manifold", manifold_figure(generate(g, grid), MANIFOLD_N, -1, 1, "G over a regular grid of z in [-1, 1]²"), {
            "es": f"G sobre una grilla regular {MANIFOLD_N}×{MANIFOLD_N} del cuadrado [-1, 1]²: qué dígito ocupa cada región de z",
            "en": f"G over a regular {MANIFOLD_N}×{MANIFOLD_N} grid of the square [-1, 1]²: which digit each region of z holds"})

    vae_images, vae_ips = vae_samples(ctx, n)
    gan_scores, vae_scores = score(ev, gan_images), score(ev, vae_images)
    gan_train_s, vae_train_s = base.metrics["train_s"], ctx.input(VAE_ITEM).metrics["train_s"]

    ctx.metric("gan_fid", gan_scores["fid"], note={"es": f"{n} muestras", "en": f"{n} samples"})
    ctx.metric("vae_fid", vae_scores["fid"], note={"es": f"{n} muestras", "en": f"{n} samples"})
    ctx.metric("gan_sample_ips", gan_ips, "img/s")
    ctx.metric("vae_sample_ips", vae_ips, "img/s")
    ctx.metric("gan_train_s", gan_train_s, "s")
    ctx.metric("vae_train_s", vae_train_s, "s")
    ctx.metric("gan_params", int(g.count_params()))
    ctx.metric("gan_coverage_entropy", gan_scores["coverage_entropy"], "nats")
    ctx.metric("vae_coverage_entropy", vae_scores["coverage_entropy"], "nats")
    ctx.metric("gan_classes_under_2pct", gan_scores["classes_under_2pct"])
    ctx.metric("vae_classes_under_2pct", vae_scores["classes_under_2pct"])
    ctx.metric("gan_mean_confidence", gan_scores["mean_confidence"])
    ctx.metric("vae_mean_confidence", vae_scores["mean_confidence"])
    ctx.metric("gan_precision", gan_scores["precision"])
    ctx.metric("vae_precision", vae_scores["precision"])
    ctx.metric("gan_recall", gan_scores["recall"])
    ctx.metric("vae_recall", vae_scores["recall"])
    ctx.metric("n_samples", n)

    keys = ("fid", "coverage_entropy", "classes_under_2pct", "mean_confidence", "precision", "recall")
    rows = [["GAN (1.2d)", *(round(float(gan_scores[k]), 3) for k in keys), round(gan_ips), round(gan_train_s, 1)],
            ["VAE (1.1e)", *(round(float(vae_scores[k]), 3) for k in keys), round(vae_ips), round(vae_train_s, 1)]]
    ctx.table("gan_vs_vae", ["model", "FID-MNIST", {"es": "entropía de clases", "en": "class entropy"},
                             {"es": "clases < 2 %", "en": "classes < 2 %"}, {"es": "confianza media", "en": "mean confidence"},
                             "precision", "recall", {"es": "muestreo img/s", "en": "sampling img/s"},
                             {"es": "entrenamiento s", "en": "training s"}], rows,
              {"es": f"GAN y VAE medidos igual: {n} muestras cada uno, el mismo evaluador, predict en lotes de 1000",
               "en": f"GAN and VAE measured alike: {n} samples each, the same evaluator, predict in batches of 1000"})
    ctx.figure("gan_vs_vae", comparison_grids({"GAN": gan_images[:10], "VAE": vae_images[:10]}, 10), {
        "es": "Diez muestras al azar de cada modelo", "en": "Ten random samples from each model"})
    ctx.figure("class_histogram", class_histogram_figure({"GAN": gan_scores["class_hist"], "VAE": vae_scores["class_hist"]},
                                                         "Digits each model generates (evaluator's labels)"), {
        "es": "Qué dígitos genera cada modelo: el colapso de modos se ve como barras ausentes",
        "en": "Which digits each model generates: mode collapse shows as missing bars"})
