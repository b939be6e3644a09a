import numpy as np
import pandas as pd
import pytest

from vn_pipeline.lib.backtest.strategies import topk_dropout
from vn_pipeline.lib.portfolio import (
    covariance,
    mean_variance,
    min_turnover,
    min_variance,
    reweight,
    risk_contributions,
    risk_parity,
    turnover,
)

METHODS = {
    "min_variance": lambda cov, **kw: min_variance(cov, **kw),
    "risk_parity": lambda cov, **kw: risk_parity(cov, **kw),
    "mean_variance": lambda cov, **kw: mean_variance(np.linspace(0.0, 2e-3, len(cov)), cov, **kw),
}


def _cov(n: int, rho: float = 0.1, seed: int = 0) -> np.ndarray:
    """Daily-scale covariance with constant correlation ``rho`` and vols of 1.5–3% a day."""
    sig = np.random.default_rng(seed).uniform(0.015, 0.03, n)
    corr = np.full((n, n), rho)
    np.fill_diagonal(corr, 1.0)
    return corr * np.outer(sig, sig)


def _random_cov(n: int, seed: int) -> np.ndarray:
    """A generic (not constant-correlation) covariance: factor structure plus noise, from simulated returns."""
    rng = np.random.default_rng(seed)
    factor = rng.normal(0, 0.01, (500, 1))
    r = factor * rng.uniform(0.3, 1.5, n) + rng.normal(0, 0.015, (500, n)) * rng.uniform(0.5, 2.0, n)
    return np.cov(r, rowvar=False)


def _assert_feasible(w: np.ndarray, max_weight: float = 1.0) -> None:
    assert w.sum() == pytest.approx(1.0, abs=1e-9)
    assert w.min() >= 0.0
    assert w.max() <= max_weight + 1e-9


# --- optimisers --------------------------------------------------------------------------------------------


def test_min_variance_matches_closed_form_when_no_constraint_binds():
    cov = _cov(12)
    inv = np.linalg.solve(cov, np.ones(12))
    closed = inv / inv.sum()
    assert closed.min() > 0  # precondition: the unconstrained optimum is long-only
    np.testing.assert_allclose(min_variance(cov), closed, atol=1e-6)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_caps_bind_and_are_respected(method):
    cov = _random_cov(10, seed=3)
    free = METHODS[method](cov)
    cap = 0.8 * free.max()  # below the unconstrained largest weight, so the cap must bind
    assert cap * 10 > 1
    w = METHODS[method](cov, max_weight=cap)
    _assert_feasible(w, cap)
    assert w.max() == pytest.approx(cap, abs=1e-9)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_infeasible_cap_raises_naming_the_constraint(method):
    with pytest.raises(ValueError, match="max_weight"):
        METHODS[method](_cov(5), max_weight=0.19)  # 5 x 0.19 < 1: cannot be fully invested
    _assert_feasible(METHODS[method](_cov(5), max_weight=0.2), 0.2)  # 5 x 0.2 == 1 is feasible (all at cap)


def test_risk_parity_equalises_risk_contributions():
    cov = _random_cov(15, seed=7)
    w = risk_parity(cov)
    _assert_feasible(w)
    rc = w * (cov @ w)
    np.testing.assert_allclose(rc / rc.mean(), 1.0, rtol=1e-6)


def test_risk_parity_on_a_diagonal_covariance_is_inverse_volatility():
    sig = np.random.default_rng(1).uniform(0.01, 0.04, 8)
    w = risk_parity(np.diag(sig**2))
    np.testing.assert_allclose(w, (1 / sig) / (1 / sig).sum(), rtol=1e-9)


def test_capped_risk_parity_is_closer_to_equal_risk_than_the_naively_capped_book():
    cov = _random_cov(10, seed=5)
    erc = risk_parity(cov)
    cap = 0.9 * erc.max()
    w = risk_parity(cov, max_weight=cap)
    _assert_feasible(w, cap)
    naive = np.minimum(erc, cap)  # cap, then hand the excess to uncapped names pro rata
    naive[erc < cap] += (1 - naive.sum()) * erc[erc < cap] / erc[erc < cap].sum()
    assert naive.max() <= cap + 1e-12

    def spread(x: np.ndarray) -> float:
        return float(np.sum((len(x) * risk_contributions(x, cov) - 1) ** 2))

    assert spread(w) < spread(naive)


def test_mean_variance_with_huge_risk_aversion_is_min_variance():
    cov = _random_cov(10, seed=2)
    mu = np.random.default_rng(2).normal(0, 1e-3, 10)
    np.testing.assert_allclose(mean_variance(mu, cov, risk_aversion=1e9), min_variance(cov), atol=1e-5)
    assert np.abs(mean_variance(mu, cov, risk_aversion=1.0) - min_variance(cov)).max() > 0.05  # mu matters


def test_mean_variance_gives_a_much_better_name_the_cap():
    cov = _cov(8)
    mu = np.full(8, 5e-4)
    mu[3] = 0.02
    w = mean_variance(mu, cov, risk_aversion=2.5, max_weight=0.3)
    _assert_feasible(w, 0.3)
    assert w[3] == pytest.approx(0.3, abs=1e-9)
    assert np.delete(w, 3).max() < 0.3


@pytest.mark.parametrize("method", sorted(METHODS))
def test_turnover_cap_is_respected_and_binds_when_prev_is_far(method):
    cov = _random_cov(10, seed=11)
    prev = np.zeros(10)
    prev[[0, 1]] = 0.5  # a concentrated book, far from any of the diversified optima
    free = METHODS[method](cov)
    assert turnover(free, prev) > 1.0
    w = METHODS[method](cov, prev=prev, max_turnover=0.6)
    _assert_feasible(w)
    assert turnover(w, prev) <= 0.6 + 1e-8
    assert turnover(w, prev) == pytest.approx(0.6, abs=1e-6)  # binding: moving further would help
    loose = METHODS[method](cov, prev=prev, max_turnover=4.0)  # never binds (two-way turnover <= 2)
    np.testing.assert_allclose(loose, free, atol=1e-6)


def test_turnover_is_two_way_and_an_unreachable_cap_raises():
    prev = np.array([0.5, 0.5, 0.0, 0.0])
    assert turnover(np.array([0.5, 0.0, 0.5, 0.0]), prev) == pytest.approx(1.0)  # sell 0.5 + buy 0.5
    assert min_turnover(prev, max_weight=0.3) == pytest.approx(0.8)  # sell 0.2 twice, buy 0.4
    with pytest.raises(ValueError, match="max_turnover"):
        min_variance(_cov(4), max_weight=0.3, prev=prev, max_turnover=0.79)
    w = min_variance(_cov(4), max_weight=0.3, prev=prev, max_turnover=0.8)
    _assert_feasible(w, 0.3)
    assert turnover(w, prev) == pytest.approx(0.8, abs=1e-8)


# --- covariance --------------------------------------------------------------------------------------------


def _returns(n_days: int, n_names: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    market = rng.normal(0, 0.01, (n_days, 1))
    r = market * rng.uniform(0.5, 1.5, n_names) + rng.normal(0, 0.015, (n_days, n_names))
    return pd.DataFrame(
        r, index=pd.bdate_range("2025-01-02", periods=n_days), columns=[f"S{i:02d}" for i in range(n_names)]
    )


def test_covariance_is_positive_definite_and_well_conditioned_with_nans():
    r = _returns(60, 30, seed=0)
    mask = np.random.default_rng(1).random(r.shape) < 0.1  # scattered missing days everywhere
    r = r.mask(mask)
    r.iloc[:25, 4] = np.nan  # a name listed mid-window, still above min_periods (30)
    cov = covariance(r)
    assert list(cov.index) == list(r.columns) == list(cov.columns)
    c = cov.to_numpy()
    np.testing.assert_allclose(c, c.T)
    eig = np.linalg.eigvalsh(c / np.outer(np.sqrt(np.diag(c)), np.sqrt(np.diag(c))))
    assert eig.min() > 0.05  # the shrunk correlation matrix is comfortably invertible
    raw = r.cov().to_numpy()
    raw_eig = np.linalg.eigvalsh(raw / np.outer(np.sqrt(np.diag(raw)), np.sqrt(np.diag(raw))))
    assert raw_eig.min() < eig.min()  # pairwise-complete sample correlation is not even PSD here
    assert eig.max() / eig.min() < 100
    np.testing.assert_allclose(np.diag(c), r.var().to_numpy(), rtol=1e-12)  # variances are not shrunk


def test_covariance_shrinkage_endpoints_and_short_history():
    r = _returns(60, 6, seed=2)
    np.testing.assert_allclose(covariance(r, shrinkage=0.0).to_numpy(), np.cov(r.to_numpy(), rowvar=False))
    np.testing.assert_allclose(covariance(r, shrinkage=1.0).to_numpy(), np.diag(r.var().to_numpy()))
    half = covariance(r, shrinkage=0.5).to_numpy()
    sample = np.cov(r.to_numpy(), rowvar=False)
    np.testing.assert_allclose(half, 0.5 * sample + 0.5 * np.diag(np.diag(sample)))
    r.iloc[:45, 2] = np.nan  # 15 observations < 30 required
    r.iloc[:, 5] = 0.0  # never moved: no risk information
    assert list(covariance(r).index) == ["S00", "S01", "S03", "S04"]


# --- reweight ----------------------------------------------------------------------------------------------


def _book(n_days: int = 160, n_names: int = 15, seed: int = 4) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rets = _returns(n_days, n_names, seed)
    scores = pd.DataFrame(
        np.random.default_rng(seed + 1).normal(size=rets.shape), index=rets.index.date, columns=rets.columns
    )
    weights = topk_dropout(scores, k=8, n_drop=2, rebalance_days=5, keep_held=False)
    return weights, rets, scores


def _changed(a: pd.Series, b: pd.Series) -> bool:
    return not np.allclose(a.to_numpy(), b.to_numpy(), atol=1e-6)


@pytest.mark.parametrize("method", ["min_variance", "risk_parity", "mean_variance"])
def test_reweight_is_point_in_time(method):
    weights, rets, scores = _book()
    day = weights.index[100]  # a decision row
    assert weights.loc[day].notna().all()
    # risk_aversion high enough that mean-variance is interior (a corner book would not react to small changes)
    kw = {"max_weight": 0.3, "expected_returns": scores * 1e-3, "risk_aversion": 50.0}
    base = reweight(weights, rets, method, **kw)

    after = rets.copy()
    after.loc[after.index > pd.Timestamp(day)] *= 3.0  # the future: must not matter
    moved_after = reweight(weights, after, method, **kw)
    pd.testing.assert_series_equal(moved_after.loc[day], base.loc[day])
    assert _changed(moved_after.loc[weights.index[110]], base.loc[weights.index[110]])  # but later rows see it

    before = rets.copy()
    held = weights.columns[weights.loc[day] > 0]
    before.loc[before.index <= pd.Timestamp(day), held[:2]] *= 3.0  # the past, including day D itself
    assert _changed(reweight(weights, before, method, **kw).loc[day], base.loc[day])

    same_day = rets.copy()
    same_day.loc[pd.Timestamp(day), held[:2]] = [0.06, -0.06]  # D's own return is known at D's close: used
    assert _changed(reweight(weights, same_day, method, **kw).loc[day], base.loc[day])


def test_reweight_mean_variance_reads_expected_returns_of_row_d_only():
    weights, rets, scores = _book()
    day = weights.index[100]
    mu = scores * 1e-3
    base = reweight(weights, rets, "mean_variance", max_weight=0.3, expected_returns=mu)
    future = mu.copy()
    future.iloc[101:] *= -1.0
    later = reweight(weights, rets, "mean_variance", max_weight=0.3, expected_returns=future)
    pd.testing.assert_series_equal(later.loc[day], base.loc[day])
    today = mu.copy()
    today.loc[day] *= -1.0
    assert _changed(reweight(weights, rets, "mean_variance", max_weight=0.3, expected_returns=today).loc[day],
                    base.loc[day])  # fmt: skip


@pytest.mark.parametrize("method", ["min_variance", "risk_parity", "mean_variance"])
def test_reweight_keeps_names_exposure_and_no_decision_rows(method):
    weights, rets, scores = _book()
    weights.iloc[50:] *= 0.9  # a book that keeps 10% in cash: the gross exposure must be kept
    out = reweight(weights, rets, method, max_weight=0.2, expected_returns=scores * 1e-3)
    assert out.index.equals(weights.index) and out.columns.equals(weights.columns)
    pd.testing.assert_frame_equal(out.isna(), weights.isna())  # NaN rows stay NaN
    decided = weights.notna().all(axis=1)
    assert (out[decided].to_numpy()[weights[decided].to_numpy() == 0] == 0).all()  # unchosen names stay out
    assert out[decided].min().min() >= 0
    if method == "risk_parity":  # every name carries risk; min/mean-variance may zero a chosen name instead
        assert (out[decided].to_numpy()[weights[decided].to_numpy() > 0] > 0).all()
    np.testing.assert_allclose(out[decided].sum(axis=1), weights[decided].sum(axis=1), atol=1e-9)
    assert out.max().max() <= 0.2 + 1e-9
    late = decided & (np.arange(len(weights)) >= 40)  # enough history for a risk estimate
    assert np.abs(out[late].to_numpy() - weights[late].to_numpy()).max() > 0.01  # actually re-weighted


def test_reweight_equal_returns_input_unchanged():
    weights, rets, _ = _book()
    out = reweight(weights, rets, "equal", max_weight=0.01)
    pd.testing.assert_frame_equal(out, weights)
    assert out is not weights


def test_reweight_without_enough_history_keeps_the_original_weights():
    weights, rets, _ = _book()
    first = weights.index[0]
    out = reweight(weights, rets, "min_variance")
    pd.testing.assert_series_equal(out.loc[first], weights.loc[first])  # 1 day of returns: nothing to estimate

    day = weights.index[100]
    held = weights.columns[weights.loc[day] > 0]
    young = rets.copy()
    young.loc[young.index <= pd.Timestamp(day), held[0]] = np.nan
    young.loc[young.index > pd.Timestamp(day) - pd.Timedelta(days=14), held[0]] = 0.01  # 10 days, listed late
    row = reweight(weights, young, "min_variance", max_weight=0.3).loc[day]
    assert row[held[0]] == weights.loc[day, held[0]]
    assert row.sum() == pytest.approx(weights.loc[day].sum())


def test_reweight_turnover_cap_between_decisions():
    weights, rets, _ = _book()
    weights = topk_dropout(  # same names every decision: all turnover is re-weighting, so the cap can be met
        pd.DataFrame(np.tile(np.arange(15.0), (len(rets), 1)), index=rets.index.date, columns=rets.columns),
        k=8,
        n_drop=0,
        rebalance_days=5,
        keep_held=False,
    )
    free = reweight(weights, rets, "min_variance", max_weight=0.3)
    capped = reweight(weights, rets, "min_variance", max_weight=0.3, max_turnover=0.05)
    steps = capped.dropna(how="all").diff().abs().sum(axis=1).iloc[1:]
    assert steps.max() <= 0.05 + 1e-8
    free_steps = free.dropna(how="all").diff().abs().sum(axis=1).iloc[1:]
    assert free_steps.max() > 0.05  # the cap was binding somewhere
    # forced turnover above the cap (names replaced by the strategy): the book closest to prev, no error
    w2, r2, _ = _book()
    out = reweight(w2, r2, "risk_parity", max_weight=0.3, max_turnover=0.01)
    assert out.dropna(how="all").sum(axis=1).min() == pytest.approx(1.0)


def test_reweight_rejects_bad_arguments():
    weights, rets, _ = _book(n_days=20)
    with pytest.raises(ValueError, match="method"):
        reweight(weights, rets, "max_sharpe")
    with pytest.raises(ValueError, match="expected_returns"):
        reweight(weights, rets, "mean_variance")
