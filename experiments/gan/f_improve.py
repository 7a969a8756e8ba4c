"""1.2f: improve D or improve G? One change to each, measured over seeds.

Each variant in `gan_compare.improve` is trained at 1.2d's budget once per seed of
`gan_compare.seeds`, and so is the handout's GAN (its first seed is 1.2d's own run).
Every generator is scored by the evaluator on the same noise, so "better" is FID-MNIST
and class coverage over seeds, mean ± standard deviation, not one lucky run. Each training is
a unit (harness.registry.Units): workers take them side by side, and the item gathers them.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from experiments.evaluation.model_rows import draws_no_digits
from experiments.gan.f_seeds import (SEED_COLUMNS, SUMMARY_COLUMNS, SeedScores, beyond_spread, dynamics_figure,
                                     seed_figure, seed_rows, summary, summary_rows)
from experiments.gan.figures import class_histogram_figure, comparison_grids
from experiments.gan.models import sample_noise
from experiments.gan.training import (EVALUATOR_ITEM, evaluator, generate, model_row, n_eval_samples, score,
                                      quality_not_graded, sample_images, train_one, train_settings)
from harness.errors import ConfigError
from harness.words import names as reader_name
from harness.registry import Units, item
from harness.train.seeds import item_seed, set_seed
from harness.train.timing import TrainingTime
from harness.train.evaluation import SAMPLE_SEED
from harness.words import words

W = words(__file__)

BASE = "handout"
# name -> (changes to the handout's settings, which network it changes, what it does)
VARIANTS: dict[str, tuple[dict[str, Any], str, dict[str, str]]] = {
    "d_spectral_norm": ({"d_spectral_norm": True}, "D", W("variants", "d_spectral_norm")),
    "g_layernorm": ({"g_norm": "layer"}, "G", W("variants", "g_layernorm")),
    "label_smoothing": ({"real_label": 0.9}, "D", W("variants", "label_smoothing")),
    "fakes_training": ({"fakes_training": True}, "procedure", W("variants", "fakes_training")),
    "d_lr_quarter": ({"d_lr": 2e-4}, "procedure", W("variants", "d_lr_quarter")),
}
CHECKS = W.table("checks")
CAPTIONS = W.table("captions")
TITLES = W.table("titles")


def variant(name: str) -> tuple[dict[str, Any], str, dict[str, str]]:
    if name not in VARIANTS:
        raise ConfigError(f"setting 'gan_compare.improve' has '{name}', which is not known: use some of {', '.join(VARIANTS)}")
    return VARIANTS[name]


def chosen_variants(value: Any) -> list[str]:
    names = [value] if isinstance(value, str) else list(value)
    if not names:
        raise ConfigError("setting 'gan_compare.improve' is empty: name at least one change, e.g. [\"d_spectral_norm\"]")
    for name in names:
        variant(name)
    return names


def run_seeds(first: int, n: int) -> list[int]:
    """The first is 1.2d's own seed, so the handout's first training is 1.2d's run."""
    return [first + i for i in range(n)]


@dataclass
class Trained:
    """One training of one model at one seed, scored on the shared noise."""

    model: str
    seed: int
    scores: dict[str, Any]
    images: np.ndarray
    history: np.ndarray
    train_s: float
    sample_ips: float
    generator: Any
    timing: Any = None      # TrainingTime: steady seconds and compile warm-up apart (None for 1.2d's reused run)


def score_generator(generator: Any, scorer: Any, z: np.ndarray) -> tuple[dict[str, Any], np.ndarray]:
    images = generate(generator, z)
    return score(scorer, images), images


def train_and_score(ctx, name: str, changes: dict[str, Any], seed: int, scorer: Any, z: np.ndarray) -> Trained:
    set_seed(seed)  # as the runner seeds 1.2d: weights, noise and batches follow this seed
    settings = train_settings(ctx, **changes)
    gan, history, train_s = train_one(ctx, settings, f"1.2f {name} seed {seed}")
    scores, images = score_generator(gan.generator, scorer, z)
    _, ips = sample_images(gan.generator, settings.noise, settings.noise_dim, len(z), SAMPLE_SEED)
    return Trained(name, seed, scores, images, history.values, train_s, ips, gan.generator, history.timing)


def seed_runs(settings: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """1.2f's units: every training but 1.2d's own (the handout's first seed), each its own task,
    named <model>.s<seed index>."""
    names = chosen_variants(settings["gan_compare"]["improve"])
    n = int(settings["gan_compare"]["seeds"])
    runs = {f"{BASE}.s{i}": {"model": BASE, "seed_index": i} for i in range(1, n)}
    runs.update({f"{name}.s{i}": {"model": name, "seed_index": i} for name in names for i in range(n)})
    return runs


def train_run(ctx, model: str, seed_index: int) -> None:
    """One model at one seed: trained, scored on the shared noise, and kept for the item to gather
    (its generator only at the first seed, the one the item may save)."""
    gan_cfg = ctx.settings("gan")
    seed = run_seeds(item_seed(ctx.config.values.get("seed", 0), "1.2d"), seed_index + 1)[-1]  # as 1.2d's run is seeded
    z = sample_noise(gan_cfg["noise"], n_eval_samples(ctx), gan_cfg["noise_dim"], SAMPLE_SEED)
    trained = train_and_score(ctx, model, variant(model)[0] if model != BASE else {}, seed, evaluator(ctx), z)
    ctx.save_value("run", {"model": model, "seed": seed, "scores": trained.scores, "train_s": trained.train_s,
                           "sample_ips": trained.sample_ips, "timing": asdict(trained.timing)})
    ctx.save_array("images", trained.images[:10])
    ctx.save_array("history", trained.history)
    if seed_index == 0:
        ctx.save_model("generator", trained.generator)


def trained_run(unit) -> Trained:
    run = unit.value("run")
    return Trained(run["model"], run["seed"], run["scores"], unit.array("images"), unit.array("history"),
                   run["train_s"], run["sample_ips"], None, TrainingTime(**run["timing"]))


@item("1.2f", "Improving the GAN: a change to D, a change to G, over seeds", needs=("1.2d", EVALUATOR_ITEM),
      config=("gan", "gan_compare", "eval"),
      units=Units(seed_runs, train_run, needs=(EVALUATOR_ITEM,), config=("gan", "eval")), shows=("gan_improved",))
def improve(ctx):
    cmp_cfg, gan_cfg = ctx.settings("gan_compare"), ctx.settings("gan")
    names = chosen_variants(cmp_cfg["improve"])
    base = ctx.input("1.2d")
    seeds = run_seeds(int(base.result.seed), int(cmp_cfg["seeds"]))
    scorer = evaluator(ctx)
    z = sample_noise(gan_cfg["noise"], n_eval_samples(ctx), gan_cfg["noise_dim"], SAMPLE_SEED)

    base_scores, base_images = score_generator(base.model("generator"), scorer, z)
    runs = [Trained(BASE, seeds[0], base_scores, base_images, base.array("history"), base.metrics["train_s"],
                    base.metrics["sample_ips"], base.model("generator"))]
    runs += [trained_run(ctx.unit(f"{BASE}.s{i}")) for i in range(1, len(seeds))]
    for name in names:
        runs += [trained_run(ctx.unit(f"{name}.s{i}")) for i in range(len(seeds))]
    best = record(ctx, names, seeds, runs, base.metrics["fid"], int(gan_cfg["steps"]))
    ctx.save_model("generator", ctx.unit(f"{best}.s0").model("generator"))  # its first seed's, as trained


def record(ctx, names: list[str], seeds: list[int], runs: list[Trained], fid_1_2d: float, steps: int) -> str:
    """The item's metrics, checks, tables and figures; returns the change with the lowest mean FID."""
    models = [BASE, *names]
    by_model = {m: [r for r in runs if r.model == m] for m in models}
    stats = {m: summary(SeedScores.of([r.scores for r in by_model[m]])) for m in models}
    for m in models:
        for key, value in stats[m].items():
            ctx.metric(f"{m}_{key}", value)
    ctx.check("seeds_paired", all([r.seed for r in by_model[m]] == seeds for m in models),
              {lang: text.format(n=len(seeds)) for lang, text in CHECKS["seeds_paired"].items()},
              expected=seeds, observed={m: [r.seed for r in by_model[m]] for m in models})
    ctx.metric("base_fid", by_model[BASE][0].scores["fid"])
    ctx.check("base_seed_reproduces_1.2d", abs(by_model[BASE][0].scores["fid"] - fid_1_2d) < 1e-6,
              CHECKS["base_seed_reproduces_1.2d"], expected=round(fid_1_2d, 3),
              observed=round(float(by_model[BASE][0].scores["fid"]), 3))
    no_digits = {m: seeds_no_digits(ctx, [r.scores for r in by_model[m]]) for m in models}
    ctx.save_value("no_digits", no_digits)
    verdict(ctx, names, stats, steps, no_digits)

    n = len(runs[0].images)
    ctx.table("summary", SUMMARY_COLUMNS, summary_rows(models, stats, VARIANTS),
              {lang: text.format(seeds=len(seeds), n=n) for lang, text in CAPTIONS["summary"].items()})
    ctx.table("per_seed", SEED_COLUMNS, seed_rows(runs), CAPTIONS["per_seed"], detail=True)
    fids = {m: [float(r.scores["fid"]) for r in by_model[m]] for m in models}
    # The models by the names a reader knows (harness.words.NAMES), in the figure's language.
    shown = lambda per_model, lang: {reader_name(m, lang): v for m, v in per_model.items()}  # noqa: E731
    ctx.figure("fid_by_seed", lambda lang: seed_figure(shown(fids, lang), lang), CAPTIONS["fid_by_seed"])
    ctx.figure("samples", lambda lang: comparison_grids(shown({m: by_model[m][0].images[:10] for m in models}, lang), 10),
               CAPTIONS["samples"])
    pooled = {m: np.sum([r.scores["class_hist"] for r in by_model[m]], axis=0).tolist() for m in models}
    ctx.figure("class_histogram", lambda lang: class_histogram_figure(shown(pooled, lang), TITLES["class_histogram"], lang),
               CAPTIONS["class_histogram"])
    histories = {m: by_model[m][0].history for m in models}
    ctx.figure("dynamics", lambda lang: dynamics_figure(shown(histories, lang), lang), CAPTIONS["dynamics"])

    best = min(names, key=lambda m: stats[m]["fid_mean"])
    ctx.save_value("variants", {m: {"target": VARIANTS[m][1], "changes": VARIANTS[m][0], "what": VARIANTS[m][2]}
                                for m in names})
    ctx.save_value("seeds", seeds)
    ctx.save_value("best", best)
    ctx.save_value("class_hists", pooled)
    # One row per change, at its first seed (the item says so): a label in no language, as the others.
    # Each row carries its model's spread over seeds: eval.compare then judges it beyond that spread.
    ctx.save_value("model_rows", [{**model_row(f"GAN z=2 {m}", ctx.id, by_model[m][0].train_s,
                                               by_model[m][0].sample_ips, by_model[m][0].scores, timing=by_model[m][0].timing),
                                   "seeds": int(stats[m]["seeds"]), "fid_seed_mean": stats[m]["fid_mean"],
                                   "fid_seed_sd": stats[m]["fid_sd"]}
                                  for m in names])
    return best


def seeds_no_digits(ctx, scores: list[dict[str, Any]]) -> str | None:
    """Why a model draws no digits at this budget when half of its seeds or more draw none (the reason
    most of them give), else None: such a model is ranked against nothing."""
    reasons = [why for one in scores if (why := draws_no_digits(ctx, one))]
    return max(set(reasons), key=reasons.count) if 2 * len(reasons) >= len(scores) and reasons else None


def verdict(ctx, names: list[str], stats: dict[str, dict[str, float]], steps: int,
            no_digits: dict[str, str | None]) -> None:
    """Which network's change helped, each judged against the handout beyond the seeds' spread; a model
    that draws no digits beats nothing and is beaten by nothing."""
    base = stats[BASE]
    for m in names:
        gap = base["fid_mean"] - stats[m]["fid_mean"]
        ctx.metric(f"{m}_fid_gain", gap)
        ctx.metric(f"{m}_beats_handout", beyond_spread(stats[m], base) and not (no_digits[m] or no_digits[BASE]))
    architectural = [m for m in names if VARIANTS[m][1] in ("D", "G")]
    best = min(architectural or names, key=lambda m: stats[m]["fid_mean"])
    ctx.metric("best_change", best)
    ctx.metric("best_change_target", VARIANTS[best][1])
    ctx.metric("best_overall", min(names, key=lambda m: stats[m]["fid_mean"]))
    ctx.check("improves_fid", beyond_spread(stats[best], base), CHECKS["improves_fid"],
              expected=f"< {base['fid_mean'] - base['fid_sd'] - stats[best]['fid_sd']:.1f}",
              observed=round(stats[best]["fid_mean"], 1),
              not_graded=quality_not_graded(steps))  # barely trained GANs: which is better is not yet the question
    d_or_g(ctx, names, stats, no_digits)


def d_or_g(ctx, names: list[str], stats: dict[str, dict[str, float]], no_digits: dict[str, str | None]) -> None:
    """The handout's question from the experiment: the best change to D against the best change to G."""
    best = {net: min((m for m in names if VARIANTS[m][1] == net), key=lambda m: stats[m]["fid_mean"], default=None)
            for net in ("D", "G")}
    if None in best.values():
        ctx.metric("d_vs_g", "untested")
        return
    d, g = stats[best["D"]], stats[best["G"]]
    ctx.metric("d_vs_g_best_d", best["D"])
    ctx.metric("d_vs_g_best_g", best["G"])
    ctx.metric("d_vs_g_gap", d["fid_mean"] - g["fid_mean"], note=W("d_or_g", "metric_d_vs_g_gap", "note"))
    ctx.metric("d_vs_g_spread", d["fid_sd"] + g["fid_sd"])
    if no_digits[best["D"]] or no_digits[best["G"]]:
        ctx.metric("d_vs_g", "no_digits")  # nothing to rank: the answer says which draws no digits
        return
    ctx.metric("d_vs_g", "G" if beyond_spread(g, d) else "D" if beyond_spread(d, g) else "none")
