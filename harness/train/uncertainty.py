"""How much a score would move with another draw of samples: the uncertainty every comparison is judged by.

FID-MNIST is computed from a finite set of generated images; drawing another set
of the same size from the same model gives another value. The bootstrap
(Efron 1979) estimates that spread from the one set we have: resample the
generated features with replacement, recompute the Fréchet distance against the
fixed test-set Gaussian, and take the standard deviation of those values as the
standard error of the FID. The test set's statistics stay fixed: every model is
scored against the same reference, so its sampling error is shared by both sides
of a comparison and does not separate them.

This covers the noise of sampling only, not of training: two trainings with
other seeds differ by more (benchmarks/RESULTS.md), which a seed spread measures.
"""
from __future__ import annotations

import numpy as np

FID_BOOTSTRAP = 100     # resamples: the standard error's own relative error is about 1/sqrt(2·100) = 7 %
BOOTSTRAP_SEED = 0


def _symmetric_sqrt(sigma: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(sigma)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def _fid_against(mu: np.ndarray, sigma: np.ndarray, ref_mu: np.ndarray, ref_sigma: np.ndarray,
                 ref_root: np.ndarray) -> float:
    # Tr (Σ Σ_ref)^½ = Σ √λ of the symmetric R Σ R with R = Σ_ref^½: one eigvalsh per resample
    # instead of a general sqrtm, the same value for covariance matrices.
    eig = np.linalg.eigvalsh(ref_root @ sigma @ ref_root)
    diff = mu - ref_mu
    return float(diff @ diff + np.trace(sigma) + np.trace(ref_sigma) - 2.0 * np.sqrt(np.clip(eig, 0.0, None)).sum())


def fid_bootstrap_se(features: np.ndarray, ref_mu: np.ndarray, ref_sigma: np.ndarray,
                     n_boot: int = FID_BOOTSTRAP, seed: int = BOOTSTRAP_SEED) -> float:
    """Standard error of FID(features, reference) over resamples of the generated features."""
    f = np.asarray(features, np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"need at least 2 feature rows of shape (N, D) to bootstrap the FID; got {f.shape}")
    if n_boot < 2:
        raise ValueError(f"the bootstrap needs at least 2 resamples; got {n_boot}")
    ref_mu, ref_sigma = np.asarray(ref_mu, np.float64), np.asarray(ref_sigma, np.float64)
    ref_root = _symmetric_sqrt(ref_sigma)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_boot):
        counts = np.bincount(rng.integers(0, len(f), len(f)), minlength=len(f))
        values.append(_fid_against(*resample_moments(f, counts), ref_mu, ref_sigma, ref_root))
    return float(np.std(values, ddof=1))


def resample_moments(f: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance of the resample that holds row i of f counts[i] times.

    The same numbers as np.mean and np.cov of the gathered copy, from the rows drawn at least once:
    a resample of n rows with replacement leaves about 1/e of them out, so the Gram matrix costs
    about 0.63 of np.cov's, and no n x d copy is made twice (on two shared cores the bootstrap was
    most of an evaluator score's time).
    """
    drawn = np.flatnonzero(counts)
    rows, weights = f[drawn], counts[drawn].astype(np.float64)
    n = weights.sum()
    mu = weights @ rows / n
    centred = rows - mu
    sigma = (centred * weights[:, None]).T @ centred / (n - 1)
    return mu, sigma


def mean_and_spread(values: list[float]) -> tuple[float, float]:
    """Mean and standard error of the mean of independent repeats (e.g. trainings with other seeds)."""
    v = np.asarray(values, np.float64)
    if v.size < 2:
        raise ValueError(f"a spread needs at least 2 repeats; got {v.size}")
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size))
