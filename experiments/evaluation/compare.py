"""eval.compare: every trained VAE and GAN side by side, in the evaluator's feature space.

Each item that trains generative models saves `model_rows` (experiments/README.md);
this item only gathers them, so no model is trained twice. The reference rows
from eval.classifier (real digits, noise, blank images, one digit) frame the
scale: a model near the real digits' row is as close to the test set as real
digits are. Fidelity and diversity are density and coverage, the metrics that
pass those references (experiments/evaluation/references.py).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from experiments.evaluation.model_rows import EVALUATOR_ITEM
from experiments.evaluation.references import LABELS as REFERENCE_LABELS
from harness.errors import ItemFailed
from harness.registry import item
from harness.verdicts import degenerate, finite, verdict
from harness.words import words

W = words(__file__)

ID = "eval.compare"
TITLE = "VAE versus GAN: comparison of every trained model"
# The items that own trained generative models (VAE base, MSE, other prior,
# latent sweep, architecture change; GAN base, improved, other latent, sweep).
MODEL_ITEMS = ("1.1d", "1.1e", "1.1h", "1.1i", "1.1j", "1.2d", "1.2f", "1.2g", "1.2h")
FAMILIES = ("vae", "gan")
REQUIRED = ("model", "family", "item", "fid")
COLORS = {"vae": "#3a86ff", "gan": "#e76f51", "reference": "#8d99ae"}

CHECKS = W.table("checks")
# Filled with eval.n_samples.
CAPTIONS = W.table("captions")

# (row key, header, decimals); None in a row means "not defined for this model" (NLL of a GAN).
COLUMNS: tuple[tuple[str, Any, int | None], ...] = (
    ("model", W("columns"), None),
    ("family", W("columns_2"), None),
    ("item", W("columns_3"), None),
    ("fid", "FID-MNIST", 2),
    ("fid_se", W("columns_4"), 2),
    ("coverage_entropy", W("columns_5"), 3),
    ("classes_under_5pct", W("columns_6"), None),
    ("classes_under_2pct", W("columns_7"), None),
    ("density", W("columns_8"), 3),
    ("coverage", W("columns_9"), 3),
    ("nll", W("columns_10"), 2),
    ("neg_elbo", W("columns_11"), 2),
    ("steady_train_s", W("columns_12"), 1),
    ("warmup_s", W("columns_13"), 1),
    ("sample_ips", W("columns_14"), 0),
)


def checked_row(row: Any, source: str) -> dict[str, Any]:
    """A model row as the README defines it; a malformed one stops the item naming its source."""
    if not isinstance(row, dict):
        raise ItemFailed(f"item {source} saved a model_rows entry that is not a dict: {row!r}")
    missing = [k for k in REQUIRED if row.get(k) is None]
    if missing:
        raise ItemFailed(f"item {source} saved model row {row.get('model', '?')!r} without {', '.join(missing)}")
    if row["family"] not in FAMILIES:
        raise ItemFailed(f"item {source} saved model row {row['model']!r} with family {row['family']!r}; use 'vae' or 'gan'")
    return row


def saved_rows(ctx, item_ids: tuple[str, ...]) -> dict[str, list[Any] | None]:
    """Each item's saved model_rows, or None where it saved none."""
    saved: dict[str, list[Any] | None] = {}
    for item_id in item_ids:
        try:
            saved[item_id] = ctx.input(item_id).value("model_rows")
        except KeyError:
            saved[item_id] = None
    return saved


def merge_rows(saved: dict[str, list[Any] | None]) -> tuple[list[dict[str, Any]], list[str]]:
    """Every model row of the given items, once each, and the items that saved none.

    A model reused by a later comparison keeps its owner's `item`, so
    (item, model) identifies it and a row repeated by a reusing item is dropped.
    """
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    silent = []
    for item_id, item_rows in saved.items():
        if item_rows is None:
            silent.append(item_id)
            continue
        for row in item_rows:
            row = checked_row(row, item_id)
            rows.setdefault((str(row["item"]), str(row["model"])), row)
    return list(rows.values()), silent


def ordered(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """VAEs then GANs, each from the best FID to the worst."""
    return sorted(rows, key=lambda r: (FAMILIES.index(r["family"]), r["fid"]))


UNDEFINED = "—"  # a table cell for a value the model does not have (NLL of a GAN)


def cell(value: Any, decimals: int | None) -> Any:
    if value is None:
        return UNDEFINED
    if decimals is None or isinstance(value, (str, bool)):
        return value
    return int(round(value)) if decimals == 0 else round(float(value), decimals)


def family_name(family: Any) -> Any:
    """The family as a reader names it (VAE, GAN); a reference row's is in words already."""
    return family.upper() if family in FAMILIES else family


def best(rows: list[dict[str, Any]], family: str) -> dict[str, Any]:
    return min((r for r in rows if r["family"] == family), key=lambda r: r["fid"])


def family_verdict(rows: list[dict[str, Any]], noise_fid: float | None) -> dict[str, Any]:
    """The one VAE-versus-GAN verdict of a run, as data: the conclusions, the notebook and the slides word
    this record and never decide again. Each family's best non-degenerate model; no verdict when a family
    has none ("degenerate"), else harness.report.compare_words.verdict on FID-MNIST with the sampling
    error only (each model was trained once: the verdict is indicative)."""
    record: dict[str, Any] = {"metric": "fid", "kind": "samples", "winner": None, "reason": None,
                              "degenerate": {r["model"]: why for r in rows if r["family"] in ("vae", "gan")
                                             and (why := degenerate(r, noise_fid))}}
    sides = {}
    for family in ("vae", "gan"):
        usable = [r for r in rows if r["family"] == family and r["model"] not in record["degenerate"]]
        sides[family] = min(usable, key=lambda r: r["fid"]) if usable else None
        record[family] = sides[family]["model"] if sides[family] else None
    if None in sides.values():
        record["reason"] = "degenerate"
        return record
    vae, gan = sides["vae"], sides["gan"]
    gan_fid, gan_u = gan["fid"], gan.get("fid_se")
    if (gan.get("seeds") or 0) >= 2 and finite(gan.get("fid_seed_sd")):
        # Trained over several seeds (1.2f): judged by its mean, with the spread between seeds (which holds the
        # sampling error too) as its uncertainty. The VAE was trained once: only its sampling error is known.
        record.update(kind="seeds", seeds=gan["seeds"])
        gan_fid, gan_u = gan["fid_seed_mean"], max(gan["fid_seed_sd"], gan_u or 0.0)
    v = verdict(vae["fid"], vae.get("fid_se"), gan_fid, gan_u)
    measured = math.isfinite(v.uncertainty)
    record.update(gap=v.gap, uncertainty=v.uncertainty if measured else None, winner={"a": "vae", "b": "gan"}.get(v.winner),
                  reason=None if v.clear else "within" if measured else "unmeasured", vae_fid=vae["fid"], gan_fid=gan_fid)
    return record


@dataclass
class Comparison:
    rows: list[dict[str, Any]]          # every model, VAEs then GANs, best FID first
    silent: list[str]                   # model items that saved no rows
    references: list[dict[str, Any]]    # the evaluator's floor and ceiling rows
    floor: float
    ceiling: float


def gather(model_rows: dict[str, list[Any] | None], evaluator: Any) -> Comparison:
    """The comparison from each model item's saved rows (None: it saved none) and the evaluator's output."""
    rows, silent = merge_rows(model_rows)
    absent = [f for f in FAMILIES if not any(r["family"] == f for r in rows)]
    if absent:
        raise ItemFailed(f"no {' or '.join(absent).upper()} model rows among {', '.join(model_rows)}: nothing to compare")
    return Comparison(ordered(rows), silent, evaluator.value("reference_rows"),
                      evaluator.metrics["fid_floor"], evaluator.metrics["fid_ceiling"])


@item(ID, TITLE, needs=(EVALUATOR_ITEM,) + MODEL_ITEMS, config=("eval",), uses_data=False,
      shows=("comparison",))
def compare_models(ctx) -> None:
    comparison = gather(saved_rows(ctx, MODEL_ITEMS), ctx.input(EVALUATOR_ITEM))
    record(ctx, comparison, ctx.settings("eval")["n_samples"])


def record(ctx, comparison: Comparison, n_samples: int) -> None:
    rows, references = comparison.rows, comparison.references
    record_metrics(ctx, rows, comparison.floor, comparison.ceiling)
    ctx.check("every_model_item_reported", not comparison.silent, CHECKS["every_model_item_reported"],
              expected=[], observed=comparison.silent)
    captions = {name: {lang: text.format(n_samples=n_samples) for lang, text in caption.items()}
                for name, caption in CAPTIONS.items()}
    ctx.save_value("family_verdict", family_verdict(rows, comparison.ceiling))
    ctx.figure("fid_by_model", lambda lang: fid_figure(rows, comparison.floor, comparison.ceiling, lang),
               captions["fid_by_model"])
    ctx.figure("density_coverage", lambda lang: density_coverage_figure(rows, references, lang),
               captions["density_coverage"])
    ctx.table("comparison", [header for _, header, _ in COLUMNS],
              [[family_name(r[key]) if key == "family" else cell(r.get(key), d) for key, _, d in COLUMNS]
               for r in rows + references_in_words(references)],
              captions["comparison"])
    ctx.save_value("comparison", rows)


def record_metrics(ctx, rows: list[dict[str, Any]], floor: float, ceiling: float) -> None:
    vae, gan = best(rows, "vae"), best(rows, "gan")
    ctx.metric("best_vae_fid", vae["fid"], note=vae["model"])
    ctx.metric("best_gan_fid", gan["fid"], note=gan["model"])
    # Their bootstrap standard errors: the conclusions call a winner only beyond them.
    ctx.metric("best_vae_fid_se", vae.get("fid_se"))
    ctx.metric("best_gan_fid_se", gan.get("fid_se"))
    ctx.metric("n_models", len(rows))
    ctx.metric("best_vae_model", vae["model"])
    ctx.metric("best_gan_model", gan["model"])
    ctx.metric("best_family", "vae" if vae["fid"] <= gan["fid"] else "gan")
    ctx.metric("n_vae", sum(r["family"] == "vae" for r in rows))
    ctx.metric("n_gan", sum(r["family"] == "gan" for r in rows))
    for name, row in (("best_vae", vae), ("best_gan", gan)):
        for key in ("coverage_entropy", "classes_under_5pct", "classes_under_2pct", "density", "coverage"):
            if row.get(key) is not None:
                ctx.metric(f"{name}_{key}", row[key])
    ctx.metric("fid_floor", floor)
    ctx.metric("fid_ceiling", ceiling)
    collapsed = [r["model"] for r in rows if (r.get("classes_under_2pct") or 0) > 0]
    ctx.metric("n_models_missing_digits", len(collapsed), note=", ".join(collapsed) or None)
    ctx.save_value("models_missing_digits", collapsed)


FIGURE_WORDS = W("figure_words")
# Rows saved before the reference sets had bilingual labels (eval.classifier's floor and ceiling).
OLD_REFERENCE_NAMES = {"Real train digits (floor)": REFERENCE_LABELS["real"],
                       "Uniform noise (ceiling)": REFERENCE_LABELS["noise"]}


def reference_label(row: dict[str, Any]) -> dict[str, str] | None:
    """A reference row's name in both languages; None for a model."""
    label = row.get("label")
    return label if isinstance(label, dict) else OLD_REFERENCE_NAMES.get(row["model"])


REFERENCE_FAMILY = W("reference_family")


def references_in_words(references: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reference rows whose model and family cells are {"es": ..., "en": ...}: the report prints its language's."""
    return [{**r, "model": reference_label(r) or r["model"], "family": REFERENCE_FAMILY} for r in references]


def point_name(row: dict[str, Any], lang: str) -> str:
    """A model's name as saved; a reference row's name in the figure's language."""
    return (reference_label(row) or {}).get(lang, row["model"])


def fid_figure(rows: list[dict[str, Any]], floor: float, ceiling: float, lang: str):
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    w = FIGURE_WORDS[lang]
    shown = sorted(rows, key=lambda r: r["fid"], reverse=True)
    fig, ax = plt.subplots(figsize=(6.5, 0.38 * len(shown) + 1.4))
    y = range(len(shown))
    ax.barh(y, [r["fid"] for r in shown], color=[COLORS[r["family"]] for r in shown])
    ax.set_yticks(list(y), [r["model"] for r in shown], fontsize=8)
    ax.set_xscale("log")
    ax.axvline(floor, color="black", ls="--", lw=1)
    ax.axvline(ceiling, color="black", ls=":", lw=1)
    ax.set_xlabel("FID-MNIST (log)")
    ax.legend(handles=[Patch(color=COLORS["vae"], label="VAE"), Patch(color=COLORS["gan"], label="GAN"),
                       plt.Line2D([], [], color="black", ls="--", label=w["floor"]),
                       plt.Line2D([], [], color="black", ls=":", label=w["ceiling"])],
              fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: bars reach the right edge
    return fig


def label_groups(named: list[tuple[tuple[float, float], str]], span: tuple[float, float],
                 near: float = 0.05, line: float = 0.033) -> list[tuple[tuple[float, float], list[str]]]:
    """Points that one label would print over share it, a line per name, at the first of them:
    weak models crowd near (0, 0). `span`: the axes' data width and height; a shared label
    reaches `line` of the height higher per name, so a point under it joins too."""
    groups: list[tuple[tuple[float, float], list[str]]] = []
    for point, name in named:
        for anchor, names in groups:
            reach = (near + line * len(names)) * span[1]
            if abs(point[0] - anchor[0]) < near * span[0] and -near * span[1] < point[1] - anchor[1] < reach:
                names.append(name)
                break
        else:
            groups.append((point, [name]))
    return groups


def density_coverage_figure(rows: list[dict[str, Any]], references: list[dict[str, Any]], lang: str):
    """Each model and reference set at (coverage, density); density above the plot's top is drawn at the edge."""
    import matplotlib.pyplot as plt

    w = FIGURE_WORDS[lang]
    top = 1.3
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    named = []
    for r in rows + references:
        if r.get("density") is None or r.get("coverage") is None:
            continue
        marker = "s" if r["family"] == "reference" else "o"
        point = (r["coverage"], min(r["density"], top))
        ax.scatter(*point, color=COLORS[r["family"]], marker=marker if r["density"] <= top else "^", s=30)
        named.append((point, point_name(r, lang)))
    for point, names in label_groups(named, span=(1.08, top + 0.08)):
        if len(names) == 1:
            ax.annotate(names[0], point, fontsize=6, xytext=(4, 2), textcoords="offset points", va="bottom")
        else:  # set off to the right of the crowd, a thin line back to it
            ax.annotate("\n".join(names), point, fontsize=6, xytext=(36, 0), textcoords="offset points",
                        va="bottom", arrowprops={"arrowstyle": "-", "lw": 0.5, "color": "gray"})
    ax.axhline(1.0, color="gray", ls=":", lw=1)  # density of real digits on average
    ax.set(xlim=(-0.03, 1.05), ylim=(-0.03, top + 0.05), xlabel=w["coverage"], ylabel=w["density"])
    for family in ("vae", "gan", "reference"):
        ax.scatter([], [], color=COLORS[family], label=family.upper() if family != "reference" else w["reference"])
    ax.legend(fontsize=7, loc="lower right")
    return fig
