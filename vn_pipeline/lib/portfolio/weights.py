"""Long-only, fully invested weights for a chosen set of names: minimum-variance, mean-variance, risk-parity.

Every method returns ``w`` (an array in the order of ``cov``'s rows) with

- ``sum(w) == 1`` and ``0 <= w_i <= max_weight`` (infeasible when ``n * max_weight < 1``: ValueError);
- when ``prev`` and ``max_turnover`` are given: ``turnover(w, prev) = sum_i |w_i - prev_i| <= max_turnover``.
  This is TWO-WAY turnover (buys + sells): moving 10% of equity from one name to another costs 0.2. One-way
  turnover is half of it when both books are fully invested. ``prev`` need not sum to 1 or respect the cap
  (it may be part of a larger book); when no feasible ``w`` is within ``max_turnover`` of it
  (``max_turnover < min_turnover(prev, max_weight)``), ValueError.

The optimisers are scipy's SLSQP from a feasible starting point. The turnover constraint is made smooth by
auxiliary variables ``u_i >= |w_i - prev_i|`` with ``sum(u) <= max_turnover``. Covariances (and the
objective) are rescaled to unit mean variance first: the argmin does not change, but SLSQP's absolute
tolerances then mean the same thing for daily, annual or score-scaled inputs. Returned weights are clipped
to [0, max_weight] and renormalised, so constraints hold to ~1e-12.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.optimize import minimize

TOL = 1e-9  # slack allowed when checking feasibility, so boundary cases (e.g. n * max_weight == 1) pass
_SLSQP_OPTIONS = {"ftol": 1e-15, "maxiter": 1000}

ArrayLike = np.ndarray | pd.DataFrame | pd.Series


def turnover(w: np.ndarray, prev: np.ndarray) -> float:
    """Two-way turnover ``sum |w - prev|``."""
    return float(np.abs(np.asarray(w, float) - np.asarray(prev, float)).sum())


def _closest_to_prev(prev: np.ndarray, max_weight: float) -> np.ndarray:
    """The feasible book with the least turnover from ``prev``.

    Each name is first clipped into [0, max_weight] (unavoidable trades); the shortfall or excess to a sum of
    1 is then spread over names in proportion to their headroom (or holding), which costs exactly
    ``|1 - sum|`` more. No feasible book can do better, since every unit of the gap must be traded somewhere.
    """
    p = np.clip(prev, 0.0, max_weight)
    gap = 1.0 - p.sum()
    if gap > 0:
        room = max_weight - p
        p = p + gap * room / room.sum()
    elif gap < 0:
        p = p + gap * p / p.sum()
    return np.clip(p, 0.0, max_weight)


def min_turnover(prev: ArrayLike, max_weight: float = 1.0) -> float:
    """Smallest two-way turnover from ``prev`` to any long-only, fully invested book capped at ``max_weight``."""
    prev = np.asarray(prev, float)
    p = np.clip(prev, 0.0, max_weight)
    return float(np.abs(prev - p).sum() + abs(1.0 - p.sum()))


def _as_cov(cov: ArrayLike) -> np.ndarray:
    c = np.asarray(cov, dtype=float)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] == 0:
        raise ValueError(f"cov must be a non-empty square matrix, got shape {c.shape}")
    if not np.isfinite(c).all():
        raise ValueError("cov has NaN or infinite entries")
    c = (c + c.T) / 2.0
    scale = float(np.mean(np.diag(c)))
    if scale <= 0:
        raise ValueError("cov has a non-positive mean variance")
    return c / scale


def _check_constraints(
    n: int, max_weight: float, prev: ArrayLike | None, max_turnover: float | None
) -> tuple[np.ndarray | None, float | None]:
    if not max_weight > 0:
        raise ValueError(f"max_weight must be > 0, got {max_weight}")
    if n * max_weight < 1.0 - TOL:
        raise ValueError(
            f"infeasible max_weight: {n} names x max_weight {max_weight} = {n * max_weight:.6g} < 1, "
            "so the book cannot be fully invested"
        )
    if max_turnover is None:
        return None, None
    if prev is None:
        raise ValueError("max_turnover needs prev (the weights the turnover is measured from)")
    prev_arr = np.asarray(prev, float).reshape(-1)
    if prev_arr.shape != (n,) or not np.isfinite(prev_arr).all():
        raise ValueError(f"prev must be {n} finite weights, got shape {np.shape(prev)}")
    if max_turnover < 0:
        raise ValueError(f"max_turnover must be >= 0, got {max_turnover}")
    floor = min_turnover(prev_arr, max_weight)
    if max_turnover < floor - TOL:
        raise ValueError(
            f"infeasible max_turnover={max_turnover:.6g}: the closest book to prev that is fully invested "
            f"with max_weight {max_weight} needs turnover {floor:.6g}"
        )
    return prev_arr, float(max_turnover)


def _capped(target: np.ndarray, max_weight: float) -> np.ndarray:
    """``target`` normalised to sum 1, with excess above the cap handed to uncapped names pro rata."""
    w = np.maximum(np.asarray(target, float), 0.0)
    w = w / w.sum() if w.sum() > 0 else np.full(len(w), 1.0 / len(w))
    for _ in range(len(w)):
        over = w > max_weight
        if not over.any():
            break
        excess = float((w[over] - max_weight).sum())
        w[over] = max_weight
        free = w < max_weight
        base = w[free] if w[free].sum() > 0 else max_weight - w[free]
        w[free] += excess * base / base.sum()
    return np.minimum(w, max_weight)


def _feasible_start(
    target: np.ndarray, max_weight: float, prev: np.ndarray | None, max_turnover: float | None
) -> np.ndarray:
    """A feasible point as close to ``target`` as a simple search gets: the capped target, pulled toward the
    least-turnover book until the turnover cap holds (the feasible set is convex, so the mix stays feasible)."""
    w = _capped(target, max_weight)
    if prev is None or max_turnover is None:
        return w
    p = _closest_to_prev(prev, max_weight)
    for k in range(40):
        alpha = 0.5**k
        x = alpha * w + (1.0 - alpha) * p
        if turnover(x, prev) <= max_turnover:
            return x
    return p


def _solve(
    fun: Callable[[np.ndarray], float],
    jac: Callable[[np.ndarray], np.ndarray],
    start: np.ndarray,
    max_weight: float,
    prev: np.ndarray | None,
    max_turnover: float | None,
) -> np.ndarray:
    n = len(start)
    if n == 1:
        return np.ones(1)
    cap = min(max_weight, 1.0)
    if prev is None or max_turnover is None:
        x0 = start
        bounds = [(0.0, cap)] * n
        constraints = [{"type": "eq", "fun": lambda x: x.sum() - 1.0, "jac": lambda x: np.ones(n)}]
        f, g = fun, jac
    else:
        # x = [w, u] with u_i >= |w_i - prev_i|: linear constraints, so SLSQP sees a smooth problem
        x0 = np.concatenate([start, np.abs(start - prev)])
        bounds = [(0.0, cap)] * n + [(0.0, None)] * n
        eye = np.eye(n)
        up = np.hstack([-eye, eye])  # u - (w - prev) >= 0
        down = np.hstack([eye, eye])  # u + (w - prev) >= 0
        total = np.concatenate([np.zeros(n), -np.ones(n)])  # T - sum(u) >= 0
        sum_w = np.concatenate([np.ones(n), np.zeros(n)])
        constraints = [
            {"type": "eq", "fun": lambda x: x[:n].sum() - 1.0, "jac": lambda x: sum_w},
            {"type": "ineq", "fun": lambda x: x[n:] - (x[:n] - prev), "jac": lambda x: up},
            {"type": "ineq", "fun": lambda x: x[n:] + (x[:n] - prev), "jac": lambda x: down},
            {"type": "ineq", "fun": lambda x: max_turnover - x[n:].sum(), "jac": lambda x: total[None, :]},
        ]

        def f(x: np.ndarray) -> float:
            return fun(x[:n])

        def g(x: np.ndarray) -> np.ndarray:
            return np.concatenate([jac(x[:n]), np.zeros(n)])

    res = minimize(f, x0, jac=g, bounds=bounds, constraints=constraints, method="SLSQP", options=_SLSQP_OPTIONS)
    w = np.clip(res.x[:n], 0.0, cap)
    w = w / w.sum()
    feasible = w.max() <= cap + 1e-7 and (prev is None or turnover(w, prev) <= max_turnover + 1e-7)
    if not feasible:
        raise RuntimeError(f"SLSQP did not find a feasible book: {res.message}")
    # SLSQP can stop with a line-search message at a point no better than where it started; keep the better
    return w if fun(w) <= fun(start) + 1e-15 else start


def min_variance(
    cov: ArrayLike, max_weight: float = 1.0, prev: ArrayLike | None = None, max_turnover: float | None = None
) -> np.ndarray:
    """Long-only, fully invested minimum-variance weights: argmin wᵀΣw under the module's constraints."""
    s = _as_cov(cov)
    n = len(s)
    prev_arr, t = _check_constraints(n, max_weight, prev, max_turnover)
    start = _feasible_start(np.full(n, 1.0 / n), max_weight, prev_arr, t)
    return _solve(lambda w: 0.5 * w @ s @ w, lambda w: s @ w, start, max_weight, prev_arr, t)


def mean_variance(
    mu: ArrayLike,
    cov: ArrayLike,
    risk_aversion: float = 2.5,
    max_weight: float = 1.0,
    prev: ArrayLike | None = None,
    max_turnover: float | None = None,
) -> np.ndarray:
    """Markowitz weights: argmax mu·w − (λ/2)·wᵀΣw under the module's constraints (λ = ``risk_aversion``).

    ``mu`` and ``cov`` must be in the same units and period (e.g. expected daily return and daily
    covariance); λ is then period-free, and 2.5 is the usual Black–Litterman value. Scores that are not
    expected returns (ranks, z-scores) need rescaling first, or λ tuned to their scale.
    """
    c = np.asarray(cov, dtype=float)
    s = _as_cov(c)
    n = len(s)
    mu_arr = np.asarray(mu, dtype=float).reshape(-1)
    if mu_arr.shape != (n,) or not np.isfinite(mu_arr).all():
        raise ValueError(f"mu must be {n} finite numbers, got shape {np.shape(mu)}")
    if not risk_aversion >= 0:
        raise ValueError(f"risk_aversion must be >= 0, got {risk_aversion}")
    prev_arr, t = _check_constraints(n, max_weight, prev, max_turnover)
    var_scale = float(np.mean(np.diag((c + c.T) / 2.0)))
    # divide the objective by a typical magnitude of its two terms so SLSQP's absolute ftol fits any units
    q = 0.5 * risk_aversion * var_scale
    norm = q + float(np.abs(mu_arr).max()) or 1.0
    m, q = mu_arr / norm, q / norm
    start = _feasible_start(np.full(n, 1.0 / n), max_weight, prev_arr, t)
    return _solve(lambda w: q * (w @ s @ w) - m @ w, lambda w: 2.0 * q * (s @ w) - m, start, max_weight, prev_arr, t)


def _erc(s: np.ndarray) -> np.ndarray:
    """Unconstrained long-only equal-risk-contribution weights (Spinu 2013).

    Minimising F(y) = ½ yᵀΣy − (1/n) Σ log y_i over y > 0 is strictly convex; at its minimum
    y_i (Σy)_i = 1/n for every i, so w = y / sum(y) has equal risk contributions. Damped Newton converges in
    a handful of steps; the backtracking keeps y positive.
    """
    n = len(s)
    y = 1.0 / np.sqrt(np.diag(s))
    y = y / np.sqrt(y @ s @ y)  # at the optimum yᵀΣy = n · (1/n) = 1

    def objective(v: np.ndarray) -> float:
        return 0.5 * v @ s @ v - np.log(v).sum() / n

    for _ in range(100):
        grad = s @ y - 1.0 / (n * y)
        hess = s + np.diag(1.0 / (n * y * y))
        step = -np.linalg.solve(hess, grad)
        decrement = -grad @ step
        if decrement < 1e-24:
            break
        t, f0 = 1.0, objective(y)
        while np.any(y + t * step <= 0) or objective(y + t * step) > f0 - 1e-4 * t * decrement:
            t *= 0.5
            if t < 1e-12:
                break
        y = y + t * step
    return y / y.sum()


def risk_contributions(w: ArrayLike, cov: ArrayLike) -> np.ndarray:
    """Each name's share of portfolio variance, w_i (Σw)_i / wᵀΣw (sums to 1)."""
    w = np.asarray(w, float)
    c = np.asarray(cov, float)
    rc = w * (c @ w)
    return rc / rc.sum()


def risk_parity(
    cov: ArrayLike, max_weight: float = 1.0, prev: ArrayLike | None = None, max_turnover: float | None = None
) -> np.ndarray:
    """Long-only, fully invested equal-risk-contribution weights (w_i (Σw)_i equal across names).

    Without binding constraints the result is the exact ERC book. When the ERC book breaks the cap or the
    turnover limit, the result is the feasible book whose risk shares are closest to equal in least squares:
    argmin Σ_i (n · w_i(Σw)_i / wᵀΣw − 1)² under the constraints. That problem is not convex; SLSQP starts
    from the ERC book capped (excess to uncapped names pro rata) and pulled toward ``prev`` until feasible, so
    the answer is a local optimum no worse than that start.
    """
    s = _as_cov(cov)
    n = len(s)
    prev_arr, t = _check_constraints(n, max_weight, prev, max_turnover)
    erc = _erc(s)
    within_cap = erc.max() <= max_weight + TOL
    if within_cap and (prev_arr is None or t is None or turnover(erc, prev_arr) <= t + TOL):
        return erc

    def fun(w: np.ndarray) -> float:
        r = s @ w
        v = w @ r
        return float(np.sum((n * w * r / v - 1.0) ** 2))

    def jac(w: np.ndarray) -> np.ndarray:
        # d/dw_k of Σ_i (n s_i − 1)², s_i = w_i r_i / v, r = Σw, v = wᵀΣw
        r = s @ w
        v = w @ r
        d = n * w * r / v - 1.0
        return 2.0 * n * (d * r / v + s @ (d * w) / v - 2.0 * np.sum(d * w * r) * r / v**2)

    start = _feasible_start(erc, max_weight, prev_arr, t)
    return _solve(fun, jac, start, max_weight, prev_arr, t)
