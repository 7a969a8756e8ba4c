"""How good are generated digits? Measured in the feature space of an MNIST classifier.

Inception weights cannot be downloaded here, and for MNIST the accepted practice
is a classifier trained on MNIST itself as the feature extractor ("FID-MNIST").
The classifier is trained by the item `eval.classifier`; its penultimate Dense
layer, named "features", is the space where we compute

- FID-MNIST: the Fréchet distance between Gaussians fitted to the features of
  generated images and of the test images (Heusel et al. 2017);
- density and coverage (Naeem et al. 2020): fidelity is how many real
  digits' k-NN neighbourhoods each generated sample falls in (1 = as crowded
  as real digits), diversity the share of real neighbourhoods that hold at
  least one generated sample; each real neighbourhood vouches for at most
  DENSITY_CAP times its fair share, so noise piled into one outlying real
  digit's neighbourhood cannot pass for digits (see density_coverage);
- improved precision and recall (Kynkäänniemi et al. 2019): the share of
  generated samples inside the real manifold and the share of real samples
  inside the generated one, each manifold being the union of k-NN balls.
  Kept for comparison only: uniform noise scores precision near 1 here (it
  falls inside an outlying real digit's ball), so nothing is concluded from it;
- class coverage: the histogram of predicted digits, its entropy and KL to
  uniform, how many digits get under 5 % and under 2 % of the samples (mode
  collapse shows here), and the mean classifier confidence.

    evaluator = Evaluator.from_output(ctx.input("eval.classifier"), ctx.data)
    scores = evaluator.score(images)        # images float32 (N, 28, 28, 1) in [0, 1]
"""
from __future__ import annotations

import hashlib
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import linalg

from harness.data import sha256_file
from harness.train.uncertainty import fid_bootstrap_se

FEATURES = "features"       # the penultimate layer: the feature space
PROBS = "probs"             # the softmax output
N_CLASSES = 10
UNDER_SHARE = 0.02          # a digit with less than 2 % of the samples counts as (nearly) missing
SCARCE_SHARE = 0.05         # ... and with less than 5 %, as under-represented (uniform is 10 %)
PR_K = 3                    # Kynkäänniemi et al. use k = 3
DC_K = 5                    # Naeem et al. recommend k = 5 for density and coverage
# A real neighbourhood holds k * M / N of M generated samples on average when they follow the
# real law, and real digits rarely put more than a few times that in one. A cap of 20x leaves
# real and one-digit sets untouched, yet stops uniform noise piled inside one outlying digit's
# ball from counting as thousands of digits (issue 19; measured in benchmarks/RESULTS.md).
DENSITY_CAP = 20
# The noise every generative model is scored on (its prior or G's latent law, drawn with this seed):
# one model gets the same FID-MNIST in every item that measures it, and two models differ by the
# model, not by the draw (common random numbers).
SAMPLE_SEED = 2018
PREDICT_BATCH = 500
# Bytes of one block of pairwise distances (float64): 10k x 10k goes in ~64 MB pieces,
# and a block's partition copy doubles that at most.
DISTANCE_BLOCK_BYTES = 64 * 2**20


# ---------------------------------------------------------------- the classifier


def build_classifier(
    input_shape: tuple[int, int, int] = (28, 28, 1),
    n_classes: int = N_CLASSES,
    filters: int = 32,
    feature_dim: int = 128,
    dropout: float = 0.25,
):
    """A small CNN: two conv blocks, then the Dense "features" layer, then softmax.

    Pooling after each convolution keeps it cheap enough to train on 60k images
    in a few minutes on two CPU cores; with a cosine-decayed Adam it passes 99 %
    test accuracy in five epochs (experiments/evaluation/classifier.py).
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="image")
    h = layers.Conv2D(filters, 3, activation="relu", name="conv1")(inputs)
    h = layers.MaxPooling2D(2, name="pool1")(h)
    h = layers.Conv2D(2 * filters, 3, activation="relu", name="conv2")(h)
    h = layers.MaxPooling2D(2, name="pool2")(h)
    h = layers.Flatten(name="flatten")(h)
    h = layers.Dropout(dropout, name="dropout1")(h)
    features = layers.Dense(feature_dim, activation="relu", name=FEATURES)(h)
    h = layers.Dropout(dropout, name="dropout2")(features)
    probs = layers.Dense(n_classes, activation="softmax", name=PROBS)(h)
    return keras.Model(inputs, probs, name="mnist_evaluator")


# ---------------------------------------------------------------- the metrics


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> tuple[float, float]:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), and the imaginary residue.

    d^2 = ||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2)).

    As in the reference pytorch-fid code: when the product is singular (sqrtm
    returns non-finite values) both covariances get eps*I added; rounding can
    leave sqrtm a small imaginary part, which is dropped and reported as the
    largest |imag| so a large one (a real problem) is visible, not hidden.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != (mu1.size, mu1.size):
        raise ValueError(f"mismatched shapes: mu {mu1.shape} vs {mu2.shape}, sigma {sigma1.shape} vs {sigma2.shape}")
    diff = mu1 - mu2
    covmean = _sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = _sqrtm((sigma1 + offset) @ (sigma2 + offset))
    residue = 0.0
    if np.iscomplexobj(covmean):
        residue = float(np.max(np.abs(covmean.imag)))
        covmean = covmean.real
    fid = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))
    # A squared distance: a value below zero can only be rounding (identical inputs).
    return max(fid, 0.0), residue


def _sqrtm(a: np.ndarray) -> np.ndarray:
    # Dead ReLU units make the covariance product singular; scipy then warns on
    # every call though its root is fine (the reference code silences it too,
    # with disp=False, an argument scipy 1.18 removes). Non-finite results are
    # handled by the caller.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        return linalg.sqrtm(a)


def gaussian_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased) covariance of the rows, in float64."""
    f = np.asarray(features, np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"need at least 2 feature rows of shape (N, D); got {f.shape}")
    return f.mean(axis=0), np.cov(f, rowvar=False)


def class_coverage(labels, confidences, n_classes: int = N_CLASSES) -> dict[str, Any]:
    """How the predicted digits spread over the classes; a collapsed generator has entropy 0.

    coverage_entropy is in nats (ln 10 = 2.303 when every digit is equally
    frequent); kl_uniform = KL(p || uniform) = ln(n_classes) - entropy.
    """
    labels = np.asarray(labels).astype(np.int64).ravel()
    confidences = np.asarray(confidences, np.float64).ravel()
    if labels.size == 0 or labels.shape != confidences.shape:
        raise ValueError(f"need as many labels as confidences, at least one; got {labels.shape} and {confidences.shape}")
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"labels must be in 0..{n_classes - 1}; got {labels.min()}..{labels.max()}")
    hist = np.bincount(labels, minlength=n_classes)
    p = hist / hist.sum()
    nonzero = p[p > 0]  # 0 log 0 = 0
    entropy = max(0.0, float(-(nonzero * np.log(nonzero)).sum()))  # one class: 0, not -0
    return {
        "class_hist": [int(c) for c in hist],
        "coverage_entropy": entropy,
        "kl_uniform": float(math.log(n_classes) - entropy),
        "classes_under_2pct": int((p < UNDER_SHARE).sum()),
        "classes_under_5pct": int((p < SCARCE_SHARE).sum()),
        "mean_confidence": float(confidences.mean()),
    }


def _row_blocks(n_rows: int, n_cols: int) -> int:
    return max(1, min(n_rows, DISTANCE_BLOCK_BYTES // (8 * max(n_cols, 1))))


def _squared_distances(a: np.ndarray, b: np.ndarray, b_sq: np.ndarray) -> np.ndarray:
    # ||a||^2 + ||b||^2 - 2 a.b, in place (one block in memory), clipped: rounding
    # can make a tiny distance negative.
    d = a @ b.T
    d *= -2.0
    d += (a * a).sum(axis=1)[:, None]
    d += b_sq[None, :]
    return np.maximum(d, 0.0, out=d)


def knn_radii(features: np.ndarray, k: int = PR_K) -> np.ndarray:
    """Squared distance from each row to its k-th nearest other row (the ball's radius squared)."""
    f = np.asarray(features, np.float64)
    if len(f) <= k:
        raise ValueError(f"k-NN radii with k={k} need more than {k} points; got {len(f)}")
    f_sq = (f * f).sum(axis=1)
    radii = np.empty(len(f))
    step = _row_blocks(len(f), len(f))
    for start in range(0, len(f), step):
        d = _squared_distances(f[start:start + step], f, f_sq)
        # Column k of the partition: the point itself is at distance 0 (column 0).
        radii[start:start + step] = np.partition(d, k, axis=1)[:, k]
    return radii


def _inside_manifold(queries: np.ndarray, support: np.ndarray, support_radii: np.ndarray) -> np.ndarray:
    """For each query, is it inside at least one support point's k-NN ball?"""
    support_sq = (support * support).sum(axis=1)
    inside = np.empty(len(queries), dtype=bool)
    step = _row_blocks(len(queries), len(support))
    for start in range(0, len(queries), step):
        d = _squared_distances(queries[start:start + step], support, support_sq)
        inside[start:start + step] = (d <= support_radii[None, :]).any(axis=1)
    return inside


def precision_recall(real_features, fake_features, k: int = PR_K, real_radii=None) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019).

    precision: share of fake samples inside the real manifold (fidelity);
    recall: share of real samples inside the fake manifold (diversity). Each
    manifold is the union of balls centred on its samples, with radius the
    distance to the k-th nearest neighbour in the same set. Distances are
    computed in row blocks, so 10k x 10k never needs the full matrix at once.
    real_radii: knn_radii(real_features, k) when the caller already has them.
    """
    real = np.asarray(real_features, np.float64)
    fake = np.asarray(fake_features, np.float64)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"feature sets must be (N, D) with the same D; got {real.shape} and {fake.shape}")
    if real_radii is None:
        real_radii = knn_radii(real, k)
    precision = _inside_manifold(fake, real, np.asarray(real_radii, np.float64)).mean()
    recall = _inside_manifold(real, fake, knn_radii(fake, k)).mean()
    return float(precision), float(recall)


def neighbourhood_counts(real_features, fake_features, real_radii) -> np.ndarray:
    """For each real sample, how many fake samples fall in its k-NN ball (radius squared real_radii)."""
    real = np.asarray(real_features, np.float64)
    fake = np.asarray(fake_features, np.float64)
    real_sq = (real * real).sum(axis=1)
    counts = np.zeros(len(real), dtype=np.int64)
    step = _row_blocks(len(fake), len(real))
    for start in range(0, len(fake), step):
        d = _squared_distances(fake[start:start + step], real, real_sq)
        counts += (d <= real_radii[None, :]).sum(axis=0)
    return counts


def density_coverage(real_features, fake_features, k: int = DC_K, real_radii=None,
                     cap: float = DENSITY_CAP) -> tuple[float, float]:
    """Density (fidelity) and coverage (diversity) of fake samples (Naeem et al. 2020).

    With B_i the ball around real sample i of radius its distance to its k-th
    nearest real neighbour, c_i the number of the M fakes inside B_i, N reals:

        density  = 1/(k M) * sum_i min(c_i, cap * k * M / N)
        coverage = 1/N * #{i : c_i > 0}

    Without the cap this is the paper's density, sum_j #{i : fake j in B_i} / (k M):
    about 1 when fakes follow the real law, above 1 when they crowd dense real
    regions. The cap bounds what one real digit can vouch for: a tight cluster
    of fakes inside a single outlier's large ball otherwise scores 1/k (0.2 at
    k = 5) however unlike digits it is. cap=None gives the paper's estimator.
    """
    real = np.asarray(real_features, np.float64)
    fake = np.asarray(fake_features, np.float64)
    if real.ndim != 2 or fake.ndim != 2 or real.shape[1] != fake.shape[1] or len(fake) == 0:
        raise ValueError(f"feature sets must be (N, D) with the same D and N > 0; got {real.shape} and {fake.shape}")
    radii = knn_radii(real, k) if real_radii is None else np.asarray(real_radii, np.float64)
    counts = neighbourhood_counts(real, fake, radii)
    if cap is not None:
        counts = np.minimum(counts, cap * k * len(fake) / len(real))
    return float(counts.sum() / (k * len(fake))), float((counts > 0).mean())


# ---------------------------------------------------------------- the evaluator


@dataclass(frozen=True)
class _Reference:
    """What every score compares against: the test set, embedded once."""

    features: np.ndarray
    mu: np.ndarray
    sigma: np.ndarray
    # Subsets for precision/recall by size, with their k-NN radii: (features, radii).
    samples: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    # The same subsets' k-NN radii for density and coverage (k = DC_K), by size.
    dc_radii: dict[int, np.ndarray] = field(default_factory=dict)


# One entry per (classifier file, test set): each generative item in a run
# scores against the same reference, so it is embedded once per process.
_REFERENCE_CACHE: dict[tuple[str, str], _Reference] = {}


def array_checksum(images: np.ndarray) -> str:
    """A digest of an array's values, its dtype and its shape."""
    a = np.ascontiguousarray(images)
    return hashlib.sha256(f"{a.dtype}{a.shape}".encode() + a.tobytes()).hexdigest()


def reference_key(model_path: Path, reference_images: np.ndarray) -> tuple[str, str]:
    """The reference cache key: which classifier file, which test images."""
    return sha256_file(model_path), array_checksum(reference_images)


def as_images(images) -> np.ndarray:
    """Check and shape images the way the classifier was trained: float32 (N, 28, 28, 1) in [0, 1]."""
    x = np.asarray(images)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[1:] != (28, 28, 1):
        raise ValueError(f"images must have shape (N, 28, 28, 1) or (N, 28, 28); got {x.shape}")
    if len(x) == 0:
        raise ValueError("no images to evaluate")
    x = x.astype(np.float32, copy=False)
    if not np.isfinite(x).all():
        raise ValueError("images contain NaN or infinite pixels")
    lo, hi = float(x.min()), float(x.max())
    # A generator with a tanh output gives [-1, 1]; scoring it as is would be silently wrong.
    if lo < -1e-3 or hi > 1 + 1e-3:
        raise ValueError(f"pixels must be in [0, 1] like the training data; got {lo:.3g}..{hi:.3g} (rescale first)")
    return x


class Evaluator:
    """The classifier's feature space plus the test-set reference it scores against."""

    def __init__(self, model, reference_images: np.ndarray, cache_key: tuple[str, str] | None = None,
                 batch_size: int = PREDICT_BATCH) -> None:
        import keras

        self.model = model
        self.batch_size = batch_size
        # One forward pass gives both the features and the class probabilities.
        self._embedder = keras.Model(model.input, [model.get_layer(FEATURES).output, model.output])
        reference = _REFERENCE_CACHE.get(cache_key) if cache_key else None
        if reference is None:
            features, _ = self._embed(as_images(reference_images))
            reference = _Reference(features, *gaussian_statistics(features))
            if cache_key:
                _REFERENCE_CACHE[cache_key] = reference
        self.reference = reference

    @classmethod
    def from_output(cls, output, splits) -> "Evaluator":
        """The evaluator of item eval.classifier, against splits.x_test (all of it)."""
        model = output.model("classifier")
        path = Path(output.folder) / output.result.models["classifier"]
        return cls(model, splits.x_test, cache_key=reference_key(path, splits.x_test))

    @property
    def n_reference(self) -> int:
        return len(self.reference.features)

    def _embed(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        feats, probs = [], []
        for start in range(0, len(images), self.batch_size):
            f, p = self._embedder(images[start:start + self.batch_size], training=False)
            feats.append(np.asarray(f))
            probs.append(np.asarray(p))
        return np.concatenate(feats), np.concatenate(probs)

    def features(self, images) -> np.ndarray:
        """The "features" layer's activations, (N, feature_dim)."""
        return self._embed(as_images(images))[0]

    def classify(self, images) -> tuple[np.ndarray, np.ndarray]:
        """Predicted digit and its softmax probability, for each image."""
        probs = self._embed(as_images(images))[1]
        return probs.argmax(axis=1), probs.max(axis=1)

    def score(self, images) -> dict[str, Any]:
        """FID-MNIST against the test set (with its bootstrap standard error over the images),
        class coverage, density/coverage and precision/recall of the images."""
        x = as_images(images)
        features, probs = self._embed(x)
        fid, residue = frechet_distance(*gaussian_statistics(features), self.reference.mu, self.reference.sigma)
        coverage = class_coverage(probs.argmax(axis=1), probs.max(axis=1), probs.shape[1])
        real, radii = self._real_sample(len(x))
        precision, recall = precision_recall(real, features, PR_K, real_radii=radii)
        fid_se = fid_bootstrap_se(features, self.reference.mu, self.reference.sigma)
        density, neighbourhood_coverage = density_coverage(real, features, DC_K, real_radii=self._dc_radii(len(x)))
        return {"fid": fid, "fid_se": fid_se, "fid_imag_residue": residue, **coverage,
                "precision": precision, "recall": recall,
                "density": density, "coverage": neighbourhood_coverage, "n": int(len(x))}

    def _dc_radii(self, n_fake: int) -> np.ndarray:
        """k-NN radii (k = DC_K) of the same real subset precision/recall use, computed once per size."""
        real, _ = self._real_sample(n_fake)
        if len(real) not in self.reference.dc_radii:
            self.reference.dc_radii[len(real)] = knn_radii(real, DC_K)
        return self.reference.dc_radii[len(real)]

    def _real_sample(self, n_fake: int) -> tuple[np.ndarray, np.ndarray]:
        """Test features, subsampled to the fake count when there are fewer fakes.

        k-NN radii shrink as a set grows, so precision/recall compare two sets of
        the same size (as in the paper); the subset is fixed, so scores are
        reproducible and comparable across models, and its radii are computed once.
        """
        real = self.reference.features
        n = min(n_fake, len(real))
        if n not in self.reference.samples:
            sample = real
            if n < len(real):
                sample = real[np.sort(np.random.default_rng(0).choice(len(real), size=n, replace=False))]
            self.reference.samples[n] = (sample, knn_radii(sample, PR_K))
        return self.reference.samples[n]
