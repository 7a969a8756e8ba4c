"""The model row: how each trained generative model enters the VAE-versus-GAN comparison.

Every item that trains a generative model saves its rows with
`ctx.save_value("model_rows", [row.as_dict(), ...])`; eval.compare gathers them.
Scores come from the MNIST evaluator (item eval.classifier) on the same fixed noise
draw for every model (harness.train.evaluation.SAMPLE_SEED).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from experiments.evaluation.shared import shared_evaluator
from harness.train.evaluation import Evaluator
from harness.verdicts import degenerate
from harness.words import words

W = words(__file__)

EVALUATOR_ITEM = "eval.classifier"
# What the evaluator's score() gives that a row keeps: every model records its class distribution
# (class_hist, over n samples) and how many digits get under 5 % and under 2 % of them.
SCORE_KEYS = ("fid", "fid_se", "coverage_entropy", "kl_uniform", "classes_under_2pct", "classes_under_5pct",
              "class_hist", "mean_confidence", "density", "coverage", "precision", "recall", "n")
FAMILIES = ("vae", "gan", "reference")
# Column headers every model table shares, in both languages ("recall" has no short Spanish word of its
# own in this field; "exhaustividad" is the usual translation).
MODEL = W("model")
PRECISION = W("precision")
RECALL = W("recall")


def evaluator(ctx: Any) -> Evaluator:
    """The MNIST evaluator trained by eval.classifier, against this run's test images: built once per
    process and reused by every item and unit it computes next (experiments/evaluation/shared.py)."""
    return shared_evaluator(ctx.input(EVALUATOR_ITEM), ctx.data, log=ctx.log)


def draws_no_digits(ctx: Any, scores: dict[str, Any]) -> str | None:
    """Why a generator with these scores draws no digits (harness.verdicts.degenerate against this run's
    uniform-noise FID), or None. Recorded by the item that scored it, so its answer ranks nothing that draws
    no digits, and never decides that again."""
    return degenerate(scores, ctx.input(EVALUATOR_ITEM).metrics.get("fid_ceiling"))


@dataclass
class ModelRow:
    model: str                      # a short label, e.g. "VAE z=2 BCE"
    family: str                     # vae | gan | reference (the evaluator's floor and ceiling)
    item: str                       # the item that trained it (a reused model keeps its owner)
    train_s: float | None           # seconds of training
    sample_ips: float | None        # images per second when sampling
    fid: float | None = None
    fid_se: float | None = None     # bootstrap standard error of fid over the samples
    coverage_entropy: float | None = None
    kl_uniform: float | None = None
    classes_under_2pct: int | None = None
    classes_under_5pct: int | None = None
    class_hist: list[int] | None = None  # samples the evaluator labels 0, 1, ..., 9
    mean_confidence: float | None = None
    density: float | None = None    # fidelity (Naeem et al. 2020); ~1 for real digits, may exceed 1
    coverage: float | None = None   # diversity: share of real neighbourhoods reached
    precision: float | None = None  # Kynkäänniemi et al. 2019: fooled by noise, not quoted
    recall: float | None = None
    n: int | None = None            # samples scored
    neg_elbo: float | None = None   # VAE only: test -ELBO, nats per image
    nll: float | None = None        # VAE only: the IWAE estimate of -log p(x)
    nll_se: float | None = None     # its standard error over the test images
    extra: dict[str, Any] = field(default_factory=dict)  # family-specific columns (a VAE's KL, active units)

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"model row {self.model!r}: family {self.family!r} is not one of {', '.join(FAMILIES)}")

    @classmethod
    def scored(cls, model: str, family: str, item: str, train_s: float | None, sample_ips: float | None,
               scores: dict[str, Any] | None, **rest: Any) -> "ModelRow":
        """A row holding the evaluator's scores (None where the model was not scored)."""
        fields = {k: (scores or {}).get(k) for k in SCORE_KEYS}
        # An explicit keyword wins over the score of the same name (a VAE row passes class_hist and n too).
        fields.update({k: v for k, v in rest.items() if k in cls.__dataclass_fields__})
        extra = {k: v for k, v in rest.items() if k not in cls.__dataclass_fields__}
        return cls(model, family, item, train_s, sample_ips, **fields, extra=extra)

    def as_dict(self) -> dict[str, Any]:
        """The flat dict a run stores (and eval.compare reads)."""
        row = asdict(self)
        return {**{k: v for k, v in row.items() if k != "extra"}, **row["extra"]}
