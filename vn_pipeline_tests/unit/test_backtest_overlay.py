"""The risk overlay's rules on small frames with known answers, and its point-in-time property."""

import math

import numpy as np
import pandas as pd
import pytest

from vn_pipeline.lib.backtest.overlay import Overlay, apply_overlay, cap_weights, regime_states
from vn_pipeline.lib.backtest.strategies import topk_dropout

OFF = Overlay(target_vol=None, regime_ma_days=None, max_name_weight=None, max_sector_weight=None)


def _days(n: int) -> pd.Index:
    return pd.Index(pd.bdate_range("2024-01-01", periods=n).date)


def _frame(rows: list[list[float]], columns: str = "AB", index: pd.Index | None = None) -> pd.DataFrame:
    return pd.DataFrame(rows, index=_days(len(rows)) if index is None else index, columns=list(columns))


def _decisions(book: pd.DataFrame) -> list[int]:
    return [i for i, (_, row) in enumerate(book.iterrows()) if row.notna().any()]


def test_caps_cut_names_then_sectors_and_leave_the_excess_in_cash():
    w = np.array([0.5, 0.3, 0.2, 0.4])
    codes = np.array([0, 0, 1, -1])  # A and B one sector, C another, D unknown: a sector of its own
    capped = cap_weights(w, codes, max_name=0.35, max_sector=0.4)
    # Names first: A 0.5 -> 0.35 and D 0.4 -> 0.35; then A + B = 0.65 > 0.4, both scaled by 0.4 / 0.65.
    assert capped == pytest.approx([0.35 * 0.4 / 0.65, 0.3 * 0.4 / 0.65, 0.2, 0.35])
    assert capped.sum() == pytest.approx(0.4 + 0.2 + 0.35)  # 0.45 of equity cut to cash, not handed on
    assert cap_weights(w, codes, None, None) == pytest.approx(w)


def test_volatility_targeting_scales_to_the_target_and_never_levers():
    # Both names move +1%, -1%, ...: the 50/50 book's daily returns are ±1%, so any 20-day window has the
    # standard deviation 0.01 × sqrt(20 / 19).
    n = 30
    returns = _frame([[0.01 * (-1) ** i] * 2 for i in range(n)])
    vol = 0.01 * math.sqrt(20 / 19) * math.sqrt(252)
    weights = _frame([[0.5, 0.5]] + [[np.nan] * 2] * 4, index=returns.index[-5:])
    half = apply_overlay(weights, returns, Overlay(**{**OFF.__dict__, "target_vol": vol / 2, "vol_lookback": 20}))
    assert half.weights.iloc[0].tolist() == pytest.approx([0.25, 0.25])
    assert half.exposure["vol_estimate"].iloc[0] == pytest.approx(vol)
    # A target above the book's volatility would need leverage: the book stays fully invested, not above.
    double = apply_overlay(weights, returns, Overlay(**{**OFF.__dict__, "target_vol": vol * 2, "vol_lookback": 20}))
    assert double.weights.iloc[0].tolist() == pytest.approx([0.5, 0.5])
    assert (double.exposure["vol_scale"] == 1.0).all()


def test_a_book_asking_for_more_than_its_equity_is_cut_to_gross_one():
    weights = _frame([[0.6, 0.6]])
    out = apply_overlay(weights, weights * 0.0, OFF).weights
    assert out.iloc[0].tolist() == pytest.approx([0.5, 0.5])


def test_a_small_change_of_the_volatility_estimate_trades_nothing_a_large_one_resizes_the_book():
    amplitude = [0.01] * 40 + [0.0105] * 20 + [0.02] * 40
    returns = _frame([[a * (-1) ** i] * 2 for i, a in enumerate(amplitude)])
    weights = _frame([[0.5, 0.5]] + [[np.nan] * 2] * 79, index=returns.index[20:])
    vol = 0.01 * math.sqrt(20 / 19) * math.sqrt(252)
    result = apply_overlay(weights, returns, Overlay(**{**OFF.__dict__, "target_vol": vol / 2, "vol_lookback": 20}))
    decided = [i + 20 for i in _decisions(result.weights)]
    assert decided[0] == 20 and result.weights.iloc[0].tolist() == pytest.approx([0.25, 0.25])
    assert not [d for d in decided if 40 <= d < 60]  # the estimate moved by under 5%: inside the 0.1 band
    assert len(decided) >= 2 and min(decided[1:]) >= 60  # the doubled volatility resizes the book
    # Once the window holds only ±2% days the target gross is half the first one; the book is within the band.
    last = result.exposure.iloc[-1]
    assert last["target_gross"] == pytest.approx(0.25)
    assert abs(last["planned_gross"] - 0.25) <= 0.1


def test_regime_filter_goes_to_cash_below_the_average_and_re_enters_above_it():
    dates = _days(10)
    vn30 = pd.Series([100, 100, 100, 100, 100, 90, 101, 101, 110, 110], index=dates, dtype=float)
    # 5-day averages from day 4: 100, 98, 98.2, 98.4, 100.4, 102.4.
    assert regime_states(vn30, dates, 5, 0.0).tolist() == [True] * 5 + [False, True, True, True, True]
    # Re-entry above average × 1.05: 101 < 98.2 × 1.05 keeps the book out until 110 > 100.4 × 1.05.
    assert regime_states(vn30, dates, 5, 0.05).tolist() == [True] * 5 + [False, False, False, True, True]

    weights = _frame([[0.5, 0.5]] + [[np.nan] * 2] * 9, index=dates)
    overlay = Overlay(**{**OFF.__dict__, "regime_ma_days": 5, "regime_band": 0.05})
    result = apply_overlay(weights, weights * 0.0, overlay, vn30=vn30)
    assert _decisions(result.weights) == [0, 5, 8]
    assert result.weights.iloc[5].tolist() == [0.0, 0.0]  # everything sold at the first close below
    assert result.weights.iloc[8].tolist() == pytest.approx([0.5, 0.5])  # back in once the regime is on
    off = ~result.exposure["regime_on"]
    assert off.tolist() == [False] * 5 + [True] * 3 + [False] * 2
    assert (result.exposure.loc[off, "planned_gross"] == 0.0).all()


def test_the_regime_filter_does_not_judge_before_its_average_has_a_full_window():
    dates = _days(4)
    vn30 = pd.Series([100.0, 50.0, 40.0, 30.0], index=dates)
    assert regime_states(vn30, dates, 5, 0.0).all()


def test_the_regime_filter_refuses_a_vn30_series_that_never_meets_the_decision_days():
    dates = _days(4)
    later = pd.Series([100.0] * 4, index=pd.Index(pd.bdate_range("2025-01-01", periods=4).date))
    with pytest.raises(ValueError, match="no VN30 close"):
        regime_states(later, dates, 2, 0.0)


def test_drawdown_stop_exits_past_the_limit_and_re_enters_on_a_recovery_from_the_trough():
    returns = _frame([[0.0], [-0.10], [-0.10], [0.03], [0.03], [0.0]], columns="A")
    weights = _frame([[1.0]] + [[np.nan]] * 5, columns="A")
    overlay = Overlay(**{**OFF.__dict__, "drawdown_limit": 0.15, "drawdown_reentry": 0.05})
    result = apply_overlay(weights, returns, overlay)
    # Base book: 1, 0.9, 0.81 (19% down: out), 0.834, 0.859 (6.1% above the 0.81 trough: in).
    assert result.exposure["drawdown_on"].tolist() == [True, True, False, False, True, True]
    assert _decisions(result.weights) == [0, 2, 4]
    assert result.weights["A"].iloc[[2, 4]].tolist() == [0.0, 1.0]


def test_drift_past_a_name_cap_is_trimmed_and_names_within_the_trade_band_are_kept():
    returns = _frame([[0.0, 0.0], [0.10, 0.0]])
    weights = _frame([[0.5, 0.5], [np.nan, np.nan]])
    result = apply_overlay(weights, returns, Overlay(**{**OFF.__dict__, "max_name_weight": 0.3}))
    assert result.weights.iloc[0].tolist() == [0.3, 0.3]
    # A drifts to 0.33 / 1.03 = 0.320 > cap + 0.01: back to 0.3; B at 0.291 is within 0.01 of 0.3: kept (NaN).
    trimmed = result.weights.iloc[1]
    assert trimmed["A"] == pytest.approx(0.3) and math.isnan(trimmed["B"])


def test_a_sector_cap_binds_on_names_of_one_sector_only():
    weights = _frame([[0.3, 0.3, 0.3]], columns="ABC")
    sectors = pd.DataFrame([["bank", "bank", None]], index=weights.index, columns=list("ABC"))
    out = apply_overlay(weights, weights * 0.0, Overlay(**{**OFF.__dict__, "max_sector_weight": 0.4}), sectors=sectors)
    assert out.weights.iloc[0].tolist() == pytest.approx([0.2, 0.2, 0.3])


def test_with_every_rule_off_the_overlay_trades_the_book_as_it_is():
    rng = np.random.default_rng(3)
    dates, symbols = _days(60), list("ABCDEFGH")
    scores = pd.DataFrame(rng.normal(size=(60, 8)), index=dates, columns=symbols)
    book = topk_dropout(scores, k=4, n_drop=1, rebalance_days=3)
    # Every name moves with the market: weights do not drift, so the planned book is the base book exactly.
    market = rng.normal(0, 0.02, size=(60, 1))
    returns = pd.DataFrame(np.repeat(market, 8, axis=1), index=dates, columns=symbols)
    out = apply_overlay(book, returns, OFF).weights
    assert _decisions(out) == _decisions(book)
    decided = book.notna().any(axis=1)
    base, mine = book[decided], out[decided]
    assert (mine > 0).equals(base > 0) and mine[base > 0].equals(base[base > 0])
    held_before = (base > 0).where(base.notna()).ffill().shift(1, fill_value=False).astype(bool)
    exits = (base == 0) & held_before
    assert (mine[exits] == 0).sum().sum() == exits.sum().sum() > 0  # every exit is still an exit
    kept = base.isna()
    assert mine[kept].isna().all().all() and kept.sum().sum() > 0  # kept names keep their shares


def _market(seed: int, n: int = 160, m: int = 12) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.DataFrame]:
    """Scores, returns (with 40 days of history before the first decision), VN30 closes and sectors."""
    rng = np.random.default_rng(seed)
    dates, symbols = _days(n), [f"S{j:02d}" for j in range(m)]
    returns = pd.DataFrame(rng.normal(0.0, 0.025, size=(n, m)), index=dates, columns=symbols)
    returns[returns.abs() > 0.06] = np.nan  # some no-trade days
    scores = pd.DataFrame(rng.normal(size=(n, m)), index=dates, columns=symbols).iloc[40:]
    vn30 = pd.Series(1000 * np.exp(np.cumsum(rng.normal(0, 0.015, n))), index=dates)
    sectors = pd.DataFrame(
        rng.choice(["bank", "real_estate", "steel", None], size=(n, m)), index=dates, columns=symbols
    )
    return scores, returns, vn30, sectors


def test_nothing_after_a_day_changes_the_overlay_up_to_that_day():
    scores, returns, vn30, sectors = _market(11)
    overlay = Overlay(target_vol=0.15, vol_lookback=30, regime_ma_days=20, regime_band=0.01, drawdown_limit=0.05,
                      drawdown_reentry=0.02, max_name_weight=0.15, max_sector_weight=0.3)  # fmt: skip
    full = apply_overlay(topk_dropout(scores, 5, 2, 2), returns, overlay, vn30, sectors)
    # The rules all act somewhere in the window, so an identical prefix is no accident of a rule standing still.
    assert (~full.exposure["regime_on"]).any() and (~full.exposure["drawdown_on"]).any()
    assert (full.exposure["vol_scale"] < 0.99).any() and full.exposure["decision"].sum() > 10
    rng = np.random.default_rng(99)
    for cut in (scores.index[10], scores.index[57], scores.index[100]):
        later = returns.index > cut
        r2 = returns.copy()
        r2.loc[later] = rng.normal(0.0, 0.08, size=(later.sum(), returns.shape[1]))
        v2 = vn30.copy()
        v2.loc[later] = v2.loc[later] * rng.uniform(0.3, 3.0, later.sum())
        s2 = sectors.copy()
        s2.loc[later] = "bank"
        sc2 = scores.copy()
        sc2.loc[scores.index > cut] = rng.normal(size=((scores.index > cut).sum(), scores.shape[1]))
        perturbed = apply_overlay(topk_dropout(sc2, 5, 2, 2), r2, overlay, v2, s2)
        pd.testing.assert_frame_equal(perturbed.weights.loc[:cut], full.weights.loc[:cut])
        pd.testing.assert_frame_equal(perturbed.exposure.loc[:cut], full.exposure.loc[:cut])
        assert not perturbed.weights.loc[cut:].iloc[1:].equals(full.weights.loc[cut:].iloc[1:])  # the future did move


def test_by_construction_gross_is_at_most_one_caps_hold_and_regime_off_means_cash():
    scores, returns, vn30, sectors = _market(5)
    overlay = Overlay(target_vol=0.5, vol_lookback=30, regime_ma_days=20, max_name_weight=0.12, max_sector_weight=0.3)
    result = apply_overlay(topk_dropout(scores, 6, 2, 1), returns, overlay, vn30, sectors)
    w, exposure = result.weights, result.exposure
    assert (w.fillna(0).sum(axis=1) <= 1 + 1e-12).all() and (exposure["planned_gross"] <= 1 + 1e-12).all()
    assert w.max().max() <= 0.12 + 1e-12
    for day, row in w.iterrows():
        by_sector = row.groupby(sectors.loc[day]).sum()  # None (unknown) is left out by groupby
        assert (by_sector <= 0.3 + 1e-12).all(), day
    off = ~exposure["regime_on"]
    assert off.any() and (w[off].fillna(0) == 0).all().all() and (exposure.loc[off, "planned_gross"] == 0).all()
