"""The numbers of a key-driver analysis: relative weights (Johnson 2000) with bootstrap intervals.

Pure numpy, no database: `matrix.py` builds the rows, this module weighs them.

Relative weights. With R the drivers' correlation matrix and r the drivers' correlations with
the outcome: R = V diag(λ) Vᵀ (numpy.linalg.eigh), Λ = V diag(√λ) Vᵀ (the correlations of the
drivers with their closest orthogonal counterparts), β = Λ⁻¹ r (the outcome regressed on those
orthogonal variables), raw weights ε_j = Σ_k Λ_jk² β_k², R² = Σ_j ε_j; a driver's importance is
its share ε_j / R². Exactly collinear drivers (the options of one single-choice question sum to
one) leave eigenvalues of zero: their directions get no β (a pseudo-inverse), which is what the
least-squares fit does too.

Bootstrap: rows are resampled with replacement (as multinomial counts per row, so a round is a
weighted moment matrix: one matrix product for all rounds) and the weights computed for every
round at once (stacked eigh); the interval is the bias-corrected 2.5 and 97.5 percentiles of
each share (`intervals`), which always holds the estimate.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

Array = NDArray[np.float64]
# Eigenvalues below this share of the largest count as zero (exact collinearity).
EIGEN_TOLERANCE = 1e-10
BOOTSTRAP_CHUNK = 50


@dataclass(frozen=True)
class Weights:
    """One fit: each driver's share of the explained variance, the raw weights and R²."""

    importance: Array
    raw: Array
    r2: float


def relative_weights_from_corr(corr: Array) -> tuple[Array, Array]:
    """Raw relative weights and R² from correlation matrices of [drivers..., outcome].

    `corr` is (..., p+1, p+1) with the outcome last; stacked matrices are weighed together.
    Returns (raw weights (..., p), R² (...)).
    """
    rxx = corr[..., :-1, :-1]
    rxy = corr[..., :-1, -1]
    lam, vec = np.linalg.eigh(rxx)
    lam = np.clip(lam, 0.0, None)
    keep = lam > EIGEN_TOLERANCE * lam.max(axis=-1, keepdims=True)
    root = np.sqrt(lam)
    inverse_root = np.where(keep, 1.0 / np.where(keep, root, 1.0), 0.0)
    # Λ = V diag(√λ) Vᵀ and Λ⁺ = V diag(1/√λ) Vᵀ over the non-zero eigenvalues.
    big_lambda = (vec * root[..., None, :]) @ np.swapaxes(vec, -1, -2)
    inverse = (vec * inverse_root[..., None, :]) @ np.swapaxes(vec, -1, -2)
    beta = np.einsum("...ij,...j->...i", inverse, rxy)
    raw = np.einsum("...jk,...k->...j", big_lambda**2, beta**2)
    return raw, raw.sum(axis=-1)


def shares(raw: Array, r2: Array | float) -> Array:
    """Raw weights as shares of R² (zeros where nothing is explained)."""
    total = np.asarray(r2)[..., None]
    return np.where(total > 0, raw / np.where(total > 0, total, 1.0), 0.0)


def correlation(x: Array, y: Array) -> Array:
    """The correlation matrix of the drivers' columns and the outcome (outcome last)."""
    return np.corrcoef(np.column_stack([x, y]), rowvar=False)


def relative_weights(x: Array, y: Array) -> Weights:
    """Relative weights of the columns of `x` (n × p) for the outcome `y` (n)."""
    raw, r2 = relative_weights_from_corr(correlation(x, y))
    return Weights(importance=shares(raw, r2), raw=raw, r2=float(r2))


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS on one thread: a worker runs tasks side by side, and BLAS threads competing for
    busy cores spin (measured: 2 s on one thread, 19 s on two, on a loaded two-core host)."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def bootstrap_shares(x: Array, y: Array, *, rounds: int, seed: int) -> Array:
    """Importance shares of `rounds` bootstrap resamples of the rows: (rounds × p).

    Each round draws n rows with replacement (as counts per row); its weighted sums give the
    correlation matrix, so every round costs one matrix product over the rows, not a copy.
    """
    n, p = x.shape
    data = np.column_stack([x, y])
    # Centre and scale once: better conditioned sums, same correlations.
    data = (data - data.mean(axis=0)) / data.std(axis=0)
    m = p + 1
    # Products of every pair of columns (upper triangle, the matrix is symmetric), per row.
    upper_i, upper_j = np.triu_indices(m)
    products = data[:, upper_i] * data[:, upper_j]
    rng = np.random.default_rng(seed)
    found: list[Array] = []
    with one_blas_thread():
        for start in range(0, rounds, BOOTSTRAP_CHUNK):
            size = min(BOOTSTRAP_CHUNK, rounds - start)
            counts = np.empty((size, n))
            for b in range(size):
                counts[b] = np.bincount(rng.integers(0, n, size=n), minlength=n)
            means = counts @ data / n  # (size × m): weighted means
            half = counts @ products / n
            cross = np.empty((size, m, m))
            cross[:, upper_i, upper_j] = half
            cross[:, upper_j, upper_i] = half
            found.append(_shares_of_moments(means, cross))
    return np.concatenate(found) if found else np.empty((0, p))


def _shares_of_moments(means: Array, cross: Array) -> Array:
    """Importance shares from stacked weighted means (size × m) and cross moments (size × m × m)."""
    m = means.shape[1]
    cov = cross - means[:, :, None] * means[:, None, :]
    sd = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0.0, None))
    safe = np.where(sd > 0, sd, 1.0)
    corr = cov / safe[:, :, None] / safe[:, None, :]
    # A column that is constant in a resample explains nothing there.
    corr = np.where((sd[:, :, None] > 0) & (sd[:, None, :] > 0), corr, 0.0)
    idx = np.arange(m)
    corr[:, idx, idx] = 1.0
    raw, r2 = relative_weights_from_corr(corr)
    return shares(raw, r2)


def intervals(samples: Array, point: Array, level: float = 0.95) -> tuple[Array, Array]:
    """Bias-corrected percentile intervals (Efron's BC) of bootstrap samples (rounds × p)
    around the estimates `point`: (low, high).

    A share's bootstrap distribution is skewed and, with few rows, lies mostly below a dominant
    driver's estimate (chance correlations of the others grow in a resample), so plain
    percentiles can leave the estimate out. BC moves the percentiles by how far the estimate
    sits from the samples' median. The interval given is the union of the BC and the plain
    percentile intervals (never narrower than the resamples' spread) and always holds its
    estimate.
    """
    from scipy.stats import norm  # loaded for an interval only: importing SciPy costs a second

    rounds = samples.shape[0]
    below = (samples < point).mean(axis=0) + 0.5 * (samples == point).mean(axis=0)
    # z0 at most 1.96 from 0: the interval then ends at the samples' extreme, not beyond.
    edge = 1 / (2 * rounds)
    bias = np.clip(norm.ppf(np.clip(below, edge, 1 - edge)), -1.96, 1.96)
    tail = norm.ppf((1.0 - level) / 2)
    low_q = norm.cdf(2 * bias + tail) * 100
    high_q = norm.cdf(2 * bias - tail) * 100
    low = np.array([np.percentile(samples[:, j], low_q[j]) for j in range(samples.shape[1])])
    high = np.array([np.percentile(samples[:, j], high_q[j]) for j in range(samples.shape[1])])
    edge_q = (1.0 - level) / 2 * 100
    plain_low, plain_high = np.percentile(samples, [edge_q, 100 - edge_q], axis=0)
    low = np.minimum(np.minimum(low, plain_low), point)
    high = np.maximum(np.maximum(high, plain_high), point)
    return low, high
