"""The numba order planner: identical to the plain Python loop it replaced, and every fill traceable to its signal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vn_pipeline.lib.backtest.engine import _CASH_EPS, plan_orders
from vn_pipeline.lib.backtest.rules import FILLS, Rules, fill_price_panel, tradable_masks

N = np.nan


def reference_plan(
    weights: np.ndarray, bars: dict[str, np.ndarray], mark: np.ndarray, init_cash: float, rules: Rules
) -> dict[str, np.ndarray]:
    """The pre-numba planner, kept verbatim (numpy per bar, Python loop per symbol) as the semantic reference."""
    n, m = weights.shape
    price = fill_price_panel(bars, rules.fill)
    can_buy, can_sell = tradable_masks(bars, rules.fill)
    hold = rules.min_hold_bars
    lot = rules.lot

    size = np.full((n, m), np.nan)
    fees = np.zeros((n, m))
    positions = np.zeros((n, m))
    cash_path = np.zeros(n)
    bought = np.zeros((n, m))

    pos = np.zeros(m)
    cash = float(init_cash)
    target: np.ndarray | None = None

    for t in range(n):
        if t > 0 and np.isfinite(weights[t - 1]).any():
            w = np.nan_to_num(weights[t - 1], nan=0.0)
            ref = np.where(np.isfinite(price[t]) & (price[t] > 0), price[t], mark[t - 1])
            ref = np.where(np.isfinite(ref) & (ref > 0), ref, np.nan)
            equity = cash + np.nansum(pos * np.nan_to_num(ref))
            raw = np.floor(w * equity / ref / lot) * lot
            target = np.where(np.isfinite(raw), np.maximum(raw, 0.0), pos)

        if target is not None:
            unsettled = bought[max(0, t - hold + 1) : t].sum(axis=0) if hold > 0 else np.zeros(m)
            for j in range(m):
                want = pos[j] - target[j]
                if want <= 0 or not can_sell[t, j]:
                    continue
                sellable = max(0.0, pos[j] - unsettled[j])
                qty = min(want, sellable)
                if qty <= 0:
                    continue
                rate = rules.sell_fee + rules.sale_tax
                cash += qty * price[t, j] * (1.0 - rate)
                pos[j] -= qty
                size[t, j] = -qty
                fees[t, j] = rate
            for j in range(m):
                want = target[j] - pos[j]
                if want <= 0 or not can_buy[t, j]:
                    continue
                unit = price[t, j] * (1.0 + rules.buy_fee)
                affordable = np.floor(cash * (1.0 - _CASH_EPS) / unit / lot) * lot
                qty = min(want, affordable)
                if qty <= 0:
                    continue
                cash -= qty * unit
                pos[j] += qty
                bought[t, j] = qty
                size[t, j] = qty
                fees[t, j] = rules.buy_fee
        positions[t] = pos
        cash_path[t] = cash

    return {
        "size": size,
        "price": np.where(np.isfinite(size), price, np.nan),
        "fees": fees,
        "positions": positions,
        "cash": cash_path,
    }


def random_panel(seed: int, n: int = 60, m: int = 25) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """(weights, bars, mark) with every obstacle the planner handles, dense enough that each one changes orders."""
    rng = np.random.default_rng(seed)
    close = np.round(20 * np.exp(np.cumsum(rng.normal(0, 0.03, (n, m)), axis=0)), 2)
    prev = np.vstack([close[:1], close[:-1]])
    open_ = np.round(prev * np.exp(rng.normal(0, 0.015, (n, m))), 2)
    vwap = np.round((open_ + close) / 2, 2)
    high, low = np.maximum(open_, close) * 1.01, np.minimum(open_, close) * 0.99
    ceiling, floor = np.round(prev * 1.07, 2), np.round(prev * 0.93, 2)
    volume = rng.integers(1_000, 100_000, (n, m)).astype(float)
    volume[rng.random((n, m)) < 0.08] = 0.0  # suspended / no trade
    volume[rng.random((n, m)) < 0.02] = np.nan
    up, down = rng.random((n, m)) < 0.07, rng.random((n, m)) < 0.05  # locked all session at a limit
    for locked, limit in ((up, ceiling), (down & ~up, floor)):
        for panel in (open_, close, vwap, high, low):
            panel[locked] = limit[locked]
    gap = rng.random((n, m)) < 0.05  # ATO at the ceiling but traded a range afterwards
    open_[gap] = ceiling[gap]
    ceiling[rng.random((n, m)) < 0.03] = np.nan  # limits unknown on some days
    listed = rng.integers(0, n // 3, m) * (rng.random(m) < 0.3)  # some symbols list mid-panel
    for j, first in enumerate(listed):
        for panel in (open_, close, vwap, high, low, volume):
            panel[:first, j] = np.nan
    for panel in (open_, vwap, close):
        panel[rng.random((n, m)) < 0.03] = np.nan  # a missing fill price on an otherwise normal day
    bars = {"open": open_, "high": high, "low": low, "close": close, "vwap": vwap, "volume": volume}
    bars |= {"ceiling": ceiling, "floor": floor}

    weights = np.full((n, m), np.nan)
    for t in np.flatnonzero(rng.random(n) < 0.4):
        book = rng.random(m) < 0.35
        row = np.where(book, rng.random(m), 0.0)
        row *= rng.uniform(0.5, 1.3) / max(row.sum(), 1e-12)  # sometimes over-committed: cash must cut buys
        row[rng.random(m) < 0.1] = np.nan  # NaN inside a decision row = weight 0
        weights[t] = row
    mark = pd.DataFrame(close).ffill().to_numpy()
    return weights, bars, mark


def latest_decision_before(weights: np.ndarray) -> np.ndarray:
    """For each bar t, the last weights row d < t with any finite weight (-1 if none)."""
    decided = np.isfinite(weights).any(axis=1)
    last = np.full(len(weights), -1)
    for t in range(1, len(weights)):
        last[t] = t - 1 if decided[t - 1] else last[t - 1]
    return last


def flat_bars(prices: dict[str, list[float]], **overrides: dict[str, list[float]]) -> dict[str, np.ndarray]:
    """open=close=vwap=price with a trading range and wide limits; ``overrides`` patch single columns."""
    base = pd.DataFrame(prices, dtype=float).to_numpy()
    bars = {k: base.copy() for k in ("open", "close", "vwap")}
    bars |= {"high": base * 1.01, "low": base * 0.99, "volume": np.full_like(base, 1000.0)}
    bars |= {"ceiling": base * 1.07, "floor": base * 0.93}
    cols = list(prices)
    for field, patch in overrides.items():
        for col, values in patch.items():
            bars[field][:, cols.index(col)] = values
    return bars


# --- kernel == reference -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("fill", FILLS)
def test_kernel_matches_python_reference(fill: str, seed: int) -> None:
    weights, bars, mark = random_panel(seed)
    rules = Rules(fill=fill)
    got = plan_orders(weights, bars, mark, 1_000_000.0, rules)
    want = reference_plan(weights, bars, mark, 1_000_000.0, rules)
    traded = np.isfinite(want["size"])
    # The panel must actually exercise the rules, or equality proves little.
    assert traded.sum() > 100 and (want["size"][traded] < 0).sum() > 30
    assert np.array_equal(got.size, want["size"], equal_nan=True)
    assert np.array_equal(got.price, want["price"], equal_nan=True)
    assert np.array_equal(got.fees, want["fees"])
    assert np.array_equal(got.positions, want["positions"])
    assert np.array_equal(got.cash, want["cash"])


@pytest.mark.parametrize("settlement_days", [0, 1, 3])
def test_kernel_matches_reference_for_other_settlement_cycles(settlement_days: int) -> None:
    # Hold periods 1..4 bars: the rolling unsettled sum (ring buffer) against the reference's explicit re-sum.
    weights, bars, mark = random_panel(11)
    for fill in ("next_open", "close"):
        rules = Rules(fill=fill, settlement_days=settlement_days)
        got = plan_orders(weights, bars, mark, 1_000_000.0, rules)
        want = reference_plan(weights, bars, mark, 1_000_000.0, rules)
        assert np.array_equal(got.size, want["size"], equal_nan=True)
        assert np.array_equal(got.cash, want["cash"])


def test_accepts_fortran_ordered_panels() -> None:
    # pandas' to_numpy() often returns Fortran-ordered arrays; the wrapper must hand the kernel the same values.
    weights, bars, mark = random_panel(3)
    got = plan_orders(
        np.asfortranarray(weights), {k: np.asfortranarray(v) for k, v in bars.items()}, mark, 1e6, Rules()
    )
    want = plan_orders(weights, bars, mark, 1e6, Rules())
    assert np.array_equal(got.size, want.size, equal_nan=True)


def test_shape_mismatch_raises() -> None:
    weights, bars, mark = random_panel(0)
    with pytest.raises(ValueError, match="must match"):
        plan_orders(weights[:, :-1], bars, mark, 1e6, Rules())


# --- signal: the decision row behind every order -------------------------------------------------------------------


@pytest.mark.parametrize("fill", FILLS)
def test_signal_is_the_latest_decision_strictly_before_the_fill(fill: str) -> None:
    weights, bars, mark = random_panel(5)
    plan = plan_orders(weights, bars, mark, 1_000_000.0, Rules(fill=fill))
    traded = np.isfinite(plan.size)
    assert plan.signal.dtype == np.int64 and plan.signal.shape == weights.shape
    assert (plan.signal[~traded] == -1).all()
    ti, _ = np.nonzero(traded)
    sig = plan.signal[traded]
    assert (sig >= 0).all() and (sig < ti).all()
    assert np.array_equal(sig, latest_decision_before(weights)[ti])
    assert (sig < ti - 1).any()  # some orders were retried after their first execution bar


def test_buy_blocked_by_ceiling_keeps_its_signal_when_filled_later() -> None:
    bars = flat_bars({"A": [10, 10.7, 11, 11, 11, 11], "B": [10.0] * 6}, ceiling={"A": [N, 10.7, N, N, N, N]})
    weights = np.array([[0.4, 0.4], [N, N], [N, N], [N, N], [N, N], [N, N]])
    plan = plan_orders(weights, bars, bars["close"], 100_000.0, Rules(fill="next_open"))
    # B fills on bar 1; A opens at the ceiling there and fills on bar 2, still pursuing decision row 0.
    assert plan.size[1].tolist()[1] > 0 and np.isnan(plan.size[1, 0])
    assert plan.size[2, 0] > 0
    assert plan.signal[:, 0].tolist() == [-1, -1, 0, -1, -1, -1]
    assert plan.signal[:, 1].tolist() == [-1, 0, -1, -1, -1, -1]


def test_sell_deferred_by_t2_keeps_its_signal() -> None:
    bars = flat_bars({"A": [10.0] * 7})
    weights = np.array([[0.5], [0.0], [N], [N], [N], [N], [N]])
    plan = plan_orders(weights, bars, bars["close"], 100_000.0, Rules(fill="next_open"))
    # Bought on bar 1 (row 0); exit decided at row 1 is blocked by T+2 until the open of bar 4.
    assert np.flatnonzero(np.isfinite(plan.size[:, 0])).tolist() == [1, 4]
    assert plan.signal[1, 0] == 0 and plan.signal[4, 0] == 1


def test_newer_decision_supersedes_a_pending_one() -> None:
    # A is suspended on bars 1-3: the row-0 order is pending when row 2 re-decides, so the fill pursues row 2.
    bars = flat_bars({"A": [10.0] * 6}, volume={"A": [1000, 0, 0, 0, 1000, 1000]})
    weights = np.array([[0.5], [N], [0.3], [N], [N], [N]])
    plan = plan_orders(weights, bars, bars["close"], 100_000.0, Rules())
    assert np.flatnonzero(np.isfinite(plan.size[:, 0])).tolist() == [4]
    assert plan.size[4, 0] == 3000 and plan.signal[4, 0] == 2
