"""Covariance of daily returns for portfolio construction: sample estimate shrunk toward its diagonal.

A 60-day window on 10–30 names has too few observations per parameter for the sample covariance to be trusted
(its small eigenvalues are too small, so an optimiser loads on spurious "hedges"). We keep each name's sample
variance and shrink every correlation toward zero by one intensity δ:

    Σ* = D^½ ((1 − δ) R + δ I) D^½          (D = diag of sample variances, R = sample correlation)

δ is either fixed or, by default, the Schäfer–Strimmer (2005) estimate for this target ("target D"):
δ = Σ_{i≠j} Var(r_ij) / Σ_{i≠j} r_ij², the share of the correlations' size that is sampling noise.

Missing returns (NaN, e.g. before listing or during a suspension): each name's mean and variance use its own
observations, each correlation uses the days both names have. Names with fewer than ``min_periods``
observations, or with zero variance (a name that never moved carries no risk information), are dropped from
the result; callers decide what a dropped name gets (``reweight`` keeps its original weight). Pairwise
estimates need not form a positive semi-definite matrix, so the shrunk correlation's eigenvalues are floored
at ``EIGEN_FLOOR`` as a last resort; with complete data and δ > 0 the floor never binds.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

EIGEN_FLOOR = 1e-6  # smallest eigenvalue allowed in the (unit-diagonal) correlation matrix


def _pairwise_correlation(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Correlation of standardised columns over shared days, the per-pair day counts and the per-pair
    sum of squared deviations of the products (for the Schäfer–Strimmer variance of each r_ij)."""
    mask = np.isfinite(x)
    z = np.where(mask, x, 0.0)
    m = mask.astype(float)
    n_ij = m.T @ m
    prod_sum = z.T @ z
    sq_sum = (z * z).T @ (z * z)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_prod = prod_sum / n_ij
        r = prod_sum / (n_ij - 1.0)
        # Schäfer–Strimmer: Var(r_ij) = n / (n-1)^3 · Σ_k (w_kij − w̄_ij)²,  w_kij = z_ki z_kj
        var_r = n_ij / (n_ij - 1.0) ** 3 * (sq_sum - n_ij * mean_prod**2)
    few = n_ij < 3  # a pair seen on fewer than 3 shared days has no usable correlation: use the target (0)
    r[few] = 0.0
    var_r[few] = 0.0
    return r, n_ij, var_r


def covariance(
    returns: pd.DataFrame, shrinkage: float | Literal["auto"] = "auto", min_periods: int | None = None
) -> pd.DataFrame:
    """Shrunk covariance of the columns of ``returns`` (rows = days, NaN = no return that day).

    ``shrinkage``: intensity δ in [0, 1] pulling correlations toward 0 (0 = sample covariance, 1 = diagonal),
    or ``"auto"`` for the Schäfer–Strimmer estimate. ``min_periods``: observations a name needs to be kept
    (default: half the rows, at least 3). Returns a symmetric positive-definite DataFrame indexed by the kept
    names, in their original order; names dropped for short history or zero variance are absent.
    """
    if isinstance(shrinkage, str):
        if shrinkage != "auto":
            raise ValueError(f"shrinkage must be a float in [0, 1] or 'auto', got {shrinkage!r}")
    elif not 0.0 <= shrinkage <= 1.0:
        raise ValueError(f"shrinkage must be in [0, 1], got {shrinkage}")
    min_periods = max(3, len(returns) // 2) if min_periods is None else max(2, int(min_periods))

    x = returns.to_numpy(dtype=float)
    counts = np.isfinite(x).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(x, axis=0) / counts
        var = np.nansum((x - mean) ** 2, axis=0) / (counts - 1.0)
    keep = (counts >= min_periods) & np.isfinite(var) & (var > 0.0)
    names = returns.columns[keep]
    if not keep.any():
        return pd.DataFrame(np.empty((0, 0)), index=names, columns=names)

    sd = np.sqrt(var[keep])
    z = (x[:, keep] - mean[keep]) / sd
    r, _, var_r = _pairwise_correlation(z)
    np.fill_diagonal(r, 1.0)
    off = ~np.eye(len(sd), dtype=bool)

    if shrinkage == "auto":
        denom = float(np.sum(r[off] ** 2))
        delta = 1.0 if denom == 0.0 else float(np.clip(np.sum(var_r[off]) / denom, 0.0, 1.0))
    else:
        delta = float(shrinkage)
    corr = np.where(off, (1.0 - delta) * r, 1.0)
    corr = (corr + corr.T) / 2.0

    eigval, eigvec = np.linalg.eigh(corr)
    if eigval[0] < EIGEN_FLOOR:
        corr = (eigvec * np.maximum(eigval, EIGEN_FLOOR)) @ eigvec.T
        d = np.sqrt(np.diag(corr))
        corr = corr / np.outer(d, d)  # back to unit diagonal so the sample variances are kept exactly
        corr = (corr + corr.T) / 2.0

    cov = corr * np.outer(sd, sd)
    return pd.DataFrame(cov, index=names, columns=names)
