"""Risk metrics (lib/risk) against reference implementations and closed forms, plus properties that fail if a
sign, a ddof or a window is wrong.

References: empyrical-reloaded (historical VaR/CVaR, annual volatility, beta, max drawdown), quantstats
(Gaussian VaR and CVaR, Kelly), scipy.integrate for the Gaussian tail mean. Our VaR/CVaR are positive losses,
the references' are returns, hence the sign flips below. All data are seeded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from vn_pipeline.lib.risk import (
    annualized_volatility,
    average_daily_value,
    beta,
    days_to_exit,
    drawdown,
    equity_curve,
    foreign_room_usage,
    half_kelly,
    hhi,
    historical_cvar,
    historical_var,
    historical_window_loss,
    kelly_fraction,
    limit_down_loss,
    max_drawdown,
    monte_carlo_var_cvar,
    parametric_cvar,
    parametric_var,
    portfolio_returns,
    portfolio_risk,
    position_risk,
    top_weights,
    worst_drawdown_window,
)
from vn_pipeline.lib.risk.report import BookOnDay, build_report

empyrical = pytest.importorskip("empyrical")
qs = pytest.importorskip("quantstats.stats")

LEVELS = (0.9, 0.95, 0.975, 0.99)
SYMBOLS = ["FPT", "VCB", "HPG", "MWG", "SSI"]


def _returns(n: int = 750, seed: int = 0) -> pd.Series:
    """Fat-tailed daily returns (Student t, 4 dof), ~1.5% daily scale."""
    rng = np.random.default_rng(seed)
    return pd.Series(rng.standard_t(4, size=n) * 0.015, index=pd.bdate_range("2021-01-04", periods=n))


@pytest.fixture(scope="module")
def market() -> tuple[pd.DataFrame, pd.Series]:
    """(asset returns, benchmark returns): a one-factor market with known betas and a few missing days."""
    rng = np.random.default_rng(42)
    n = 750
    dates = pd.bdate_range("2021-01-04", periods=n)
    bench = rng.standard_t(5, size=n) * 0.012 + 0.0006  # an up-drift puts the worst drawdown mid-sample
    true_betas = np.array([0.8, 1.0, 1.3, 1.1, 1.6])
    noise = rng.normal(0, 0.012, size=(n, len(SYMBOLS)))
    assets = pd.DataFrame(bench[:, None] * true_betas + noise, index=dates, columns=SYMBOLS)
    assets.iloc[:40, 3] = np.nan  # MWG listed late
    assets.iloc[300:305, 4] = np.nan  # SSI suspended for a week
    return assets, pd.Series(bench, index=dates, name="VNINDEX")


WEIGHTS = pd.Series({"FPT": 0.30, "VCB": 0.25, "HPG": 0.20, "MWG": 0.10, "SSI": 0.05})  # 10% cash


# --- historical VaR / CVaR --------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("n", [1, 2, 21, 101, 250, 751])
def test_historical_var_cvar_match_empyrical(level: float, n: int) -> None:
    r = _returns(n, seed=n)
    assert historical_var(r, level) == pytest.approx(-empyrical.value_at_risk(r, cutoff=1 - level), abs=1e-12)
    assert historical_cvar(r, level) == pytest.approx(
        -empyrical.conditional_value_at_risk(r, cutoff=1 - level), abs=1e-12
    )


@pytest.mark.parametrize("level", LEVELS)
def test_historical_cvar_with_ties_matches_empyrical(level: float) -> None:
    """Rounded returns tie at the quantile; the tail size must still follow empyrical's k + 1 rule."""
    r = np.round(_returns(400, seed=7).to_numpy(), 3)
    assert historical_cvar(r, level) == pytest.approx(
        -empyrical.conditional_value_at_risk(r, cutoff=1 - level), abs=1e-12
    )


def test_historical_nan_is_dropped() -> None:
    r = _returns(300, seed=3)
    holed = r.copy()
    holed.iloc[::17] = np.nan
    clean = holed.dropna()
    assert historical_var(holed, 0.95) == pytest.approx(-empyrical.value_at_risk(clean, cutoff=0.05), abs=1e-12)
    assert historical_cvar(holed, 0.95) == pytest.approx(
        -empyrical.conditional_value_at_risk(holed, cutoff=0.05), abs=1e-12
    )


def test_historical_var_sign_and_orderings() -> None:
    r = _returns()
    for level in LEVELS:
        assert historical_var(r, level) > 0  # a loss, reported positive
        assert historical_cvar(r, level) >= historical_var(r, level)
    assert historical_var(r, 0.99) >= historical_var(r, 0.95)
    assert historical_cvar(r, 0.99) >= historical_cvar(r, 0.95)
    # Doubling every return doubles the loss figures (positive homogeneity).
    assert historical_var(2 * r, 0.95) == pytest.approx(2 * historical_var(r, 0.95), rel=1e-12)


def test_historical_empty_and_bad_level() -> None:
    assert np.isnan(historical_var(np.array([]), 0.95))
    assert np.isnan(historical_cvar(np.array([np.nan]), 0.95))
    with pytest.raises(ValueError):
        historical_var(_returns(), 95)


# --- Gaussian VaR / CVaR ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", LEVELS)
def test_parametric_var_matches_quantstats(level: float) -> None:
    """quantstats uses pandas' mean and std, i.e. ddof=1 like us: agreement to rounding."""
    r = _returns()
    assert parametric_var(r, level) == pytest.approx(-qs.value_at_risk(r, sigma=1, confidence=level), abs=1e-12)
    # The comparison is sharp enough to catch a population std (ddof=0) on 750 days.
    z = stats.norm.ppf(1 - level)
    ddof0 = -(r.mean() + z * r.std(ddof=0))
    assert abs(parametric_var(r, level) - ddof0) > 1e-7


@pytest.mark.parametrize("level", LEVELS)
def test_parametric_cvar_is_gaussian_tail_mean(level: float) -> None:
    """CVaR = -E[X | X <= q] for X ~ N(mu, sigma), integrated numerically, independent of the closed form."""
    r = _returns()
    mu, sigma = r.mean(), r.std(ddof=1)
    q = stats.norm.ppf(1 - level, mu, sigma)
    tail_integral, _ = integrate.quad(lambda x: x * stats.norm.pdf(x, mu, sigma), -np.inf, q, epsabs=1e-14)
    tail_prob = stats.norm.cdf(q, mu, sigma)
    assert parametric_cvar(r, level) == pytest.approx(-tail_integral / tail_prob, rel=1e-8)
    assert parametric_cvar(r, level) == pytest.approx(
        -qs.conditional_value_at_risk(r, sigma=1, confidence=level), abs=1e-12
    )
    assert parametric_cvar(r, level) > parametric_var(r, level) > 0


def test_parametric_cvar_against_simulation() -> None:
    rng = np.random.default_rng(5)
    mu, sigma = 0.0004, 0.018
    sample = rng.normal(mu, sigma, 2_000_000)
    ours = parametric_cvar(sample, 0.99)
    simulated = -sample[sample <= np.quantile(sample, 0.01)].mean()
    assert ours == pytest.approx(simulated, rel=0.01)
    assert ours == pytest.approx(-(mu - sigma * stats.norm.pdf(stats.norm.ppf(0.01)) / 0.01), rel=0.01)


# --- Monte Carlo ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", [0.95, 0.99])
def test_monte_carlo_converges_to_parametric_var_of_the_book(market, level: float) -> None:
    """Normal asset returns with the sample mean and covariance give a normal book return with the sample mean
    and variance of the book's history, so with many draws MC ≈ Gaussian VaR/CVaR of that history."""
    assets, _ = market
    history = portfolio_returns(WEIGHTS, assets)
    var_mc, cvar_mc = monte_carlo_var_cvar(assets, WEIGHTS, level, n_sims=200_000, seed=1)
    assert var_mc == pytest.approx(parametric_var(history, level), rel=0.03)
    assert cvar_mc == pytest.approx(parametric_cvar(history, level), rel=0.03)
    assert cvar_mc >= var_mc > 0


def test_monte_carlo_is_deterministic_per_seed(market) -> None:
    assets, _ = market
    first = monte_carlo_var_cvar(assets, WEIGHTS, 0.95, n_sims=5_000, seed=3)
    assert monte_carlo_var_cvar(assets, WEIGHTS, 0.95, n_sims=5_000, seed=3) == first
    assert monte_carlo_var_cvar(assets, WEIGHTS, 0.95, n_sims=5_000, seed=4) != first


def test_monte_carlo_rejects_held_name_without_history(market) -> None:
    assets, _ = market
    with pytest.raises(ValueError, match="ZZZ"):
        monte_carlo_var_cvar(assets, pd.concat([WEIGHTS, pd.Series({"ZZZ": 0.05})]), 0.95)


# --- volatility, beta, drawdown ---------------------------------------------------------------------------------


def test_annualized_volatility_matches_empyrical() -> None:
    r = _returns()
    assert annualized_volatility(r) == pytest.approx(empyrical.annual_volatility(r), rel=1e-12)
    assert annualized_volatility(r) == pytest.approx(r.std(ddof=1) * np.sqrt(252), rel=1e-12)
    assert np.isnan(annualized_volatility(r.iloc[:1]))


def test_beta_matches_empyrical_on_misaligned_series_with_nans(market) -> None:
    assets, bench = market
    name = assets["MWG"].iloc[5:]  # late listing (NaN head) and a shorter index than the benchmark
    holed_bench = bench.copy()
    holed_bench.iloc[100:110] = np.nan
    expected = empyrical.beta(name, holed_bench)
    assert beta(name, holed_bench) == pytest.approx(expected, rel=1e-10)
    assert beta(name, holed_bench) == pytest.approx(1.1, abs=0.1)  # the planted beta
    assert beta(bench, bench) == pytest.approx(1.0, rel=1e-12)
    assert np.isnan(beta(bench, pd.Series(0.01, index=bench.index)))  # flat benchmark: undefined


def test_drawdown_and_max_drawdown_match_empyrical() -> None:
    r = _returns(500, seed=11)
    r.iloc[0] = -0.05  # a day-one loss is a drawdown from the starting NAV
    r.iloc[50:53] = np.nan  # empyrical reads NaN as 0
    expected = empyrical.max_drawdown(r)
    assert expected < 0
    assert max_drawdown(r) == pytest.approx(expected, abs=1e-12)
    equity = pd.concat([pd.Series([1.0]), equity_curve(r).reset_index(drop=True)], ignore_index=True)
    assert max_drawdown(equity, is_equity=True) == pytest.approx(expected, abs=1e-12)
    np.testing.assert_allclose(
        drawdown(equity).to_numpy()[1:], empyrical.stats.drawdown_series(r).to_numpy(), atol=1e-12
    )
    assert (drawdown(equity) <= 0).all()


def test_drawdown_of_known_path() -> None:
    equity = pd.Series([100.0, 120.0, 90.0, 130.0, 104.0])
    np.testing.assert_allclose(drawdown(equity), [0.0, 0.0, -0.25, 0.0, -0.2])
    assert max_drawdown(equity, is_equity=True) == pytest.approx(-0.25)


# --- concentration ----------------------------------------------------------------------------------------------


def test_hhi_is_normalised_by_gross_exposure() -> None:
    assert hhi(pd.Series({"A": 0.2, "B": 0.2, "C": 0.2, "D": 0.2})) == pytest.approx(0.25)  # 20% cash ignored
    assert hhi(pd.Series({"A": 0.5, "B": 0.0})) == pytest.approx(1.0)
    assert hhi(WEIGHTS) == pytest.approx(((WEIGHTS / WEIGHTS.sum()) ** 2).sum())
    assert np.isnan(hhi(pd.Series({"A": 0.0})))


def test_top_weights() -> None:
    top = top_weights(WEIGHTS, n=3)
    assert list(top.index) == ["FPT", "VCB", "HPG"]
    assert top["FPT"] == 0.30
    assert len(top_weights(WEIGHTS, n=10)) == 5


# --- liquidity --------------------------------------------------------------------------------------------------


def test_days_to_exit() -> None:
    position = pd.Series({"A": 2e9, "B": 1e9, "C": 1e9, "D": 1e9, "E": 0.0})
    adv = pd.Series({"A": 5e9, "B": 0.0, "C": np.nan, "E": 0.0})  # D missing
    days = days_to_exit(position, adv, participation=0.2)
    assert days["A"] == pytest.approx(2e9 / (0.2 * 5e9))
    assert np.isinf(days[["B", "C", "D"]]).all()
    assert days["E"] == 0.0
    halved = days_to_exit(position, adv, participation=0.1)
    assert halved["A"] == pytest.approx(2 * days["A"])
    with pytest.raises(ValueError):
        days_to_exit(position, adv, participation=0.0)


# Hand-built foreign caps (shares): usage = foreign-held / (limit × outstanding) = 1 − room / (limit × outstanding).
ROOM = pd.Series({"FPT": 0.0, "VCB": 60e6, "HPG": 50e6, "MWG": 1e6, "SSI": 2e6, "ACB": -3e6, "XYZ": 5e6})
LIMIT = pd.Series({"FPT": 0.49, "VCB": 0.30, "HPG": 1.00, "MWG": np.nan, "SSI": 0.49, "ACB": 0.30, "XYZ": 0.0})
OUTSTANDING = pd.Series({"FPT": 200e6, "VCB": 1e9, "HPG": 50e6, "MWG": 1.4e9, "ACB": 1e9, "XYZ": 9e6})  # SSI unknown
USAGE = {
    "FPT": 1.0,  # room 0: the cap is full
    "VCB": 0.8,  # cap 300 M shares, 240 M held by foreigners, 60 M left
    "HPG": 0.0,  # 100% cap on 50 M shares, none held
    "ACB": 1.01,  # the vendor's negative room (ownership 303 M over a 300 M cap) is kept, not clipped
}


def test_foreign_room_usage_of_hand_built_caps() -> None:
    usage = foreign_room_usage(ROOM, LIMIT, OUTSTANDING)
    assert list(usage.index) == list(ROOM.index)
    assert usage[list(USAGE)].to_dict() == pytest.approx(USAGE, abs=1e-12)
    # unknown limit (MWG), unknown outstanding (SSI), a 0 cap (XYZ: no foreign ownership allowed): no number
    assert usage[["MWG", "SSI", "XYZ"]].isna().all()
    held = LIMIT * OUTSTANDING - ROOM
    assert (usage * LIMIT * OUTSTANDING)[list(USAGE)].to_numpy() == pytest.approx(held[list(USAGE)].to_numpy())


def test_risk_report_positions_carry_foreign_room_usage(market) -> None:
    assets, bench = market
    nav = 1e10
    values = WEIGHTS * nav
    book = BookOnDay(
        values=values,
        nav=nav,
        equity=pd.Series(nav, index=assets.index[-5:]),
        asset_returns=assets,
        benchmark_returns=bench,
        adv_value=values * 3,
        limit_down_returns=pd.Series(-0.07, index=WEIGHTS.index),
        foreign_room=ROOM,
        shares=(values / 50_000).round(-2),
        foreign_limit=LIMIT,
        shares_outstanding=OUTSTANDING,
    )
    positions = build_report(book, [], {}).positions
    assert positions["foreign_room_usage"].dropna().to_dict() == pytest.approx(
        {s: u for s, u in USAGE.items() if s in WEIGHTS.index}, abs=1e-12
    )
    assert positions.loc[["MWG", "SSI"], "foreign_room_usage"].isna().all()
    assert positions.loc["VCB", "foreign_room"] == 60e6  # room and the book's share of it are still reported
    assert positions.loc["VCB", "share_of_foreign_room"] == pytest.approx(book.shares["VCB"] / 60e6)
    assert np.isnan(positions.loc["FPT", "share_of_foreign_room"])  # room full: no share of nothing


def _value_panel(n: int = 60, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = pd.DataFrame(rng.uniform(10_000, 80_000, (n, 3)), columns=["A", "B", "C"])
    volume = pd.DataFrame(rng.integers(0, 500_000, (n, 3)).astype(float), columns=close.columns)
    close.index = volume.index = pd.bdate_range("2024-01-01", periods=n)
    return close * volume


def test_average_daily_value_is_trailing_mean_including_today() -> None:
    panel = _value_panel()
    panel.iloc[30, 1] = np.nan  # a day B did not trade
    adv = average_daily_value(panel, window=20)
    assert adv.iloc[:19].isna().all().all()
    for t in (19, 35, 59):
        expected = panel.iloc[t - 19 : t + 1].fillna(0.0).mean()
        np.testing.assert_allclose(adv.iloc[t], expected, rtol=1e-12)


def test_average_daily_value_is_point_in_time() -> None:
    panel = _value_panel()
    d = 40
    before = average_daily_value(panel).iloc[: d + 1]
    changed = panel.copy()
    changed.iloc[d + 1 :] *= 1000.0
    changed.iloc[d + 5, 0] = np.nan
    pd.testing.assert_frame_equal(average_daily_value(changed).iloc[: d + 1], before)
    assert not np.allclose(average_daily_value(changed).iloc[d + 1], average_daily_value(panel).iloc[d + 1])


# --- Kelly ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kelly_matches_quantstats(seed: int) -> None:
    r = _returns(500, seed=seed) + 0.002
    r.iloc[::25] = 0.0  # flat days are neither wins nor losses
    assert kelly_fraction(r) == pytest.approx(qs.kelly_criterion(r), abs=1e-12)


def test_half_kelly_clips_to_no_leverage_no_short() -> None:
    losing = _returns(500, seed=4) - 0.01
    assert kelly_fraction(losing) < 0
    assert half_kelly(losing) == 0.0
    winning = pd.Series([0.02] * 9 + [-0.01])  # p = 0.9, b = 2: Kelly 0.85
    assert kelly_fraction(winning) == pytest.approx(0.85)
    assert half_kelly(winning) == pytest.approx(0.425)
    assert np.isnan(half_kelly(pd.Series([0.01, 0.02])))  # no loss: payoff undefined


# --- stress -----------------------------------------------------------------------------------------------------


def test_limit_down_loss() -> None:
    hose_book = pd.Series({"FPT": 0.5, "VCB": 0.3, "HPG": 0.2})
    floors = pd.Series({"FPT": -0.07, "VCB": -0.07, "HPG": -0.07, "SHS": -0.10, "BSR": -0.15})
    assert limit_down_loss(hose_book, floors) == pytest.approx(0.07)
    mixed = pd.Series({"FPT": 0.5, "SHS": 0.3, "BSR": 0.0})  # 20% cash, BSR not held
    assert limit_down_loss(mixed, floors) == pytest.approx(0.5 * 0.07 + 0.3 * 0.10)
    with pytest.raises(ValueError, match="MWG"):
        limit_down_loss(pd.Series({"MWG": 1.0}), floors)
    with pytest.raises(ValueError, match="<= 0"):
        limit_down_loss(hose_book, floors.abs())


def test_worst_window_replay_reproduces_the_index_max_drawdown(market) -> None:
    _, bench = market
    levels = 1000.0 * equity_curve(bench)
    start, end = worst_drawdown_window(levels)
    assert start < end
    assert levels[end] / levels[start] - 1 == pytest.approx(drawdown(levels).min(), rel=1e-12)
    # Holding the index itself over (start, end] loses exactly its max drawdown.
    index_book = historical_window_loss(pd.Series({"VNINDEX": 1.0}), bench.to_frame(), start, end)
    assert index_book.loss == pytest.approx(-drawdown(levels).min(), rel=1e-12)


def test_worst_drawdown_window_of_known_path() -> None:
    levels = pd.Series([100.0, 120.0, 90.0, 120.0, 60.0, 70.0], index=list("abcdef"))
    assert worst_drawdown_window(levels) == ("d", "e")  # last time at the peak before the trough
    assert worst_drawdown_window(pd.Series([1.0, 2.0, 3.0], index=list("xyz"))) == ("x", "x")


def test_historical_window_loss_contributions_and_beta_proxy(market) -> None:
    assets, bench = market
    start, end = worst_drawdown_window(1000.0 * equity_curve(bench))
    window = (assets.index > start) & (assets.index <= end)
    late = assets.copy()
    late.loc[:end, "MWG"] = np.nan  # MWG lists after the window: it needs the proxy
    result = historical_window_loss(WEIGHTS, late, start, end, benchmark_returns=bench)
    table = result.contributions
    fpt_return = (1 + assets.loc[window, "FPT"]).prod() - 1
    assert table.loc["FPT", "window_return"] == pytest.approx(fpt_return, rel=1e-12)
    assert table.loc["FPT", "contribution"] == pytest.approx(-0.30 * fpt_return, rel=1e-12)
    bench_return = (1 + bench[window]).prod() - 1
    mwg_beta = beta(late["MWG"], bench)  # estimated on the history the name does have
    assert table.loc["MWG", "window_return"] == pytest.approx(mwg_beta * bench_return, rel=1e-12)
    assert table["proxied"].tolist() == [False, False, False, True, False]
    assert result.loss == pytest.approx(table["contribution"].sum(), rel=1e-12)
    assert result.loss > 0
    # Given betas win over the estimate; a name absent from the returns entirely is proxied too.
    given = historical_window_loss(
        pd.Series({"NEW": 0.5}), assets, start, end, benchmark_returns=bench, betas=pd.Series({"NEW": 2.0})
    )
    assert given.loss == pytest.approx(-0.5 * 2.0 * bench_return, rel=1e-12)
    with pytest.raises(ValueError, match="MWG"):
        historical_window_loss(WEIGHTS, late, start, end)


# --- per-position table and portfolio summary -------------------------------------------------------------------


def test_position_risk_table(market) -> None:
    assets, bench = market
    table = position_risk(WEIGHTS, assets, levels=(0.95, 0.99), benchmark_returns=bench)
    assert list(table.index) == ["FPT", "VCB", "HPG", "MWG", "SSI"]
    own = assets["MWG"].dropna()
    assert table.loc["MWG", "var_hist_95"] == pytest.approx(0.10 * historical_var(own, 0.95), rel=1e-12)
    assert table.loc["MWG", "cvar_param_99"] == pytest.approx(0.10 * parametric_cvar(own, 0.99), rel=1e-12)
    assert table.loc["MWG", "volatility"] == pytest.approx(empyrical.annual_volatility(own), rel=1e-12)
    assert table.loc["HPG", "beta"] == pytest.approx(empyrical.beta(assets["HPG"], bench), rel=1e-10)
    assert (table["cvar_hist_99"] >= table["var_hist_99"]).all()
    assert (table["var_hist_99"] >= table["var_hist_95"]).all()
    # On a gap-free history, historical CVaR and Gaussian VaR are sub-additive: the book's figure is at most
    # the sum of the standalone ones (diversification can only help them).
    full = assets.drop(columns=["MWG", "SSI"])
    book = WEIGHTS[full.columns]
    standalone = position_risk(book, full)
    summary = portfolio_risk(book, full)
    assert summary["cvar_hist_95"] <= standalone["cvar_hist_95"].sum() + 1e-15
    assert summary["var_param_99"] <= standalone["var_param_99"].sum() + 1e-15
    assert "beta" not in standalone.columns


def test_portfolio_risk_summary(market) -> None:
    assets, bench = market
    summary = portfolio_risk(WEIGHTS, assets, bench, levels=(0.95, 0.99), seed=0)
    history = assets.fillna(0.0) @ WEIGHTS  # today's weights on the whole history, NaN as 0
    for level, tag in ((0.95, "95"), (0.99, "99")):
        assert summary[f"var_hist_{tag}"] == pytest.approx(-empyrical.value_at_risk(history, 1 - level), abs=1e-12)
        assert summary[f"cvar_hist_{tag}"] == pytest.approx(
            -empyrical.conditional_value_at_risk(history, 1 - level), abs=1e-12
        )
        assert summary[f"var_param_{tag}"] == pytest.approx(-qs.value_at_risk(history, confidence=level), abs=1e-12)
        mc = monte_carlo_var_cvar(assets, WEIGHTS, level, n_sims=10_000, seed=0)
        assert (summary[f"var_mc_{tag}"], summary[f"cvar_mc_{tag}"]) == pytest.approx(mc, abs=1e-15)
        assert summary[f"cvar_mc_{tag}"] >= summary[f"var_mc_{tag}"]
    assert summary["var_hist_99"] >= summary["var_hist_95"]
    assert summary["volatility"] == pytest.approx(empyrical.annual_volatility(history), rel=1e-12)
    assert summary["beta"] == pytest.approx(empyrical.beta(history, bench), rel=1e-10)
    assert summary["max_drawdown"] == pytest.approx(empyrical.max_drawdown(history), abs=1e-12)
    assert summary["gross_exposure"] == pytest.approx(0.90)
    assert summary["hhi"] == pytest.approx(hhi(WEIGHTS))
    assert np.isnan(portfolio_risk(WEIGHTS, assets, n_sims=100)["beta"])
