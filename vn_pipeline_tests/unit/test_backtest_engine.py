"""The numba order planner: identical to the plain Python loop it replaced, and every fill traceable to its signal."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from vn_pipeline.lib.backtest.engine import CASH_EPS, plan_orders
from vn_pipeline.lib.backtest.rules import FILLS, Rules, fill_price_panel, tradable_masks

N = np.nan


def reference_plan(
    weights: np.ndarray, bars: dict[str, np.ndarray], mark: np.ndarray, init_cash: float, rules: Rules
) -> dict[str, np.ndarray]:
    """A plain Python planner (lists of locked lots, a dict of targets) written apart from the kernel, as the
    semantic reference: same decisions, lots, locks, bonus shares and cash, formulated independently."""
    n, m = weights.shape
    price = fill_price_panel(bars, rules.fill)
    can_buy, can_sell = tradable_masks(bars, rules.fill)
    factor = bars.get("share_factor", np.ones((n, m)))
    lot = rules.lot
    sell_rate = rules.sell_fee + rules.sale_tax

    size = np.full((n, m), np.nan)
    fees = np.zeros((n, m))
    positions = np.zeros((n, m))
    cash_path = np.zeros(n)
    cancelled = np.zeros((n, m))
    locks: list[list[tuple[int, float]]] = [[] for _ in range(m)]  # (first sellable bar, shares)

    pos = [0.0] * m
    cash = float(init_cash)
    targets: dict[int, float] = {}  # symbols without an entry are left alone

    def usable(p: float) -> bool:
        return bool(np.isfinite(p) and p > 0)

    for t in range(n):
        for j in range(m):
            k = factor[t, j]
            if k == 1.0:
                continue
            if pos[j] > 0:
                whole = math.floor(pos[j] * k + 1e-6)
                cancelled[t, j] = pos[j] * k - whole if pos[j] * k - whole > 1e-6 else 0.0  # not float noise
                locks[j].append((t + rules.bonus_lock_days, whole - pos[j]))
                pos[j] = float(whole)
            if j in targets:
                targets[j] = float(math.floor(targets[j] * k + 1e-6))

        if t > 0 and np.isfinite(weights[t - 1]).any():
            ref = [mark[t - 1, j] / factor[t, j] for j in range(m)]  # the decision's close, today's share units
            equity = cash
            for j in range(m):
                if usable(ref[j]):
                    equity += pos[j] * ref[j]
            for j in range(m):  # a NaN weight (or no price) leaves the symbol's target as it was
                if usable(ref[j]) and np.isfinite(weights[t - 1, j]):
                    targets[j] = max(math.floor(weights[t - 1, j] * equity / ref[j] / lot) * lot, 0.0)

        for j in sorted(targets):
            if pos[j] <= targets[j] or not can_sell[t, j]:
                continue
            locked = sum(q for first, q in locks[j] if first > t)
            qty = min(pos[j] - targets[j], pos[j] - locked)
            odd = pos[j] % lot  # bonus shares can leave an odd lot, sold on the odd-lot board
            options = [qty - qty % lot] + ([qty - (qty - odd) % lot] if 0 < odd <= qty else [])
            qty = max(options)
            if qty <= 0:
                continue
            cash += qty * price[t, j] * (1.0 - sell_rate)
            pos[j] -= qty
            size[t, j] = -qty
            fees[t, j] = sell_rate
        wants = {j: math.floor((targets[j] - pos[j]) / lot) * lot for j in sorted(targets) if can_buy[t, j]}
        wants = {j: q for j, q in wants.items() if q > 0}
        need = 0.0
        for j, q in wants.items():
            need += q * price[t, j] * (1.0 + rules.buy_fee)
        budget = cash * (1.0 - CASH_EPS)
        share = 1.0 if need <= budget else budget / need  # short of cash: the same fraction of every buy
        for j, q in wants.items():
            unit = price[t, j] * (1.0 + rules.buy_fee)
            qty = min(math.floor(q * share / lot) * lot, math.floor(cash * (1.0 - CASH_EPS) / unit / lot) * lot)
            if qty <= 0:
                continue
            cash -= qty * unit
            pos[j] += qty
            locks[j].append((t + rules.min_hold_bars, qty))
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
        "cancelled": cancelled,
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
        row[rng.random(m) < 0.1] = np.nan  # NaN inside a decision row = keep the shares held
        weights[t] = row
    # Stock dividends (1 + ratio on the ex-date); quoted prices drop by the factor from then on.
    share_factor = np.where(rng.random((n, m)) < 0.06, rng.choice([1.07, 1.125, 1.15, 1.2, 1.333], (n, m)), 1.0)
    cum = np.cumprod(share_factor, axis=0)
    for name in ("open", "high", "low", "close", "vwap", "ceiling", "floor"):
        bars[name] = bars[name] / cum
    bars["share_factor"] = share_factor
    mark = pd.DataFrame(bars["close"] * cum).ffill().to_numpy() / cum
    return weights, bars, mark


def latest_target_before(weights: np.ndarray, mark: np.ndarray) -> np.ndarray:
    """For each bar t and symbol, the last weights row d < t that gave it a target: a finite weight and a
    close to size it at (-1 if none)."""
    sized = np.isfinite(weights) & np.isfinite(mark) & (mark > 0)
    last = np.full(weights.shape, -1)
    for t in range(1, len(weights)):
        last[t] = np.where(sized[t - 1], t - 1, last[t - 1])
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
    assert np.array_equal(got.cancelled, want["cancelled"])
    # ... and bonus shares, cancelled fractions and odd-lot sales do occur.
    assert (want["cancelled"] > 0).any() and (got.positions % rules.lot != 0).any()
    assert (np.isfinite(want["size"]) & (np.abs(np.nan_to_num(want["size"])) % rules.lot != 0)).any()


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
    assert np.array_equal(sig, latest_target_before(weights, mark)[ti, np.nonzero(traded)[1]])
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


# --- keep, bonus shares and odd lots -----------------------------------------------------------------------------


def test_nan_inside_a_decision_keeps_the_shares_held() -> None:
    bars = flat_bars({"A": [10, 10, 14, 14, 14], "B": [10.0] * 5})
    weights = np.array([[0.45, 0.45], [N, N], [N, 0.3], [N, N], [N, N]])
    plan = plan_orders(weights, bars, bars["close"], 100_000.0, Rules())
    # A rose 40%; the row-2 decision keeps A (NaN) instead of trading it back to a weight, and resizes B to 30% of
    # equity (9,865 cash + 63,000 + 45,000 -> 3,500 shares) once T+2 lets it sell on bar 4.
    assert plan.positions[1].tolist() == [4500, 4500]
    assert np.isnan(plan.size[2:, 0]).all() and plan.positions[-1].tolist() == [4500, 3500]


def test_a_name_kept_before_its_buy_filled_is_still_bought() -> None:
    # B opens at the ceiling on bar 1, so its buy waits; the row-1 decision keeps B (NaN) and must not cancel it.
    bars = flat_bars({"A": [10.0] * 4, "B": [10.0] * 4}, open={"B": [10, 10.7, 10, 10]}, ceiling={"B": [N, 10.7, N, N]})
    weights = np.array([[0.4, 0.4], [0.4, N], [N, N], [N, N]])
    plan = plan_orders(weights, bars, bars["close"], 100_000.0, Rules())
    assert np.isnan(plan.size[1, 1]) and plan.size[2, 1] == 4000 and plan.signal[2, 1] == 0
    assert plan.positions[-1].tolist() == [4000, 4000]


def test_stock_dividend_credits_bonus_shares_and_cancels_the_fraction() -> None:
    # A 12.5% stock dividend on bar 3: 900 shares become floor(1012.5) = 1012, the half share is cancelled, and the
    # quoted price drops by the factor. The target follows in share units, so nothing is traded.
    price = [10.0, 10.0, 10.0, 8.0, 8.0]
    bars = flat_bars({"A": price}) | {"share_factor": np.array([[1.0], [1.0], [1.0], [1.125], [1.0]])}
    weights = np.array([[0.9], [N], [N], [N], [N]])
    plan = plan_orders(weights, bars, bars["close"], 10_030.0, Rules(buy_fee=0.0))
    assert plan.positions[:, 0].tolist() == [0, 900, 900, 1012, 1012]
    assert plan.cancelled[3, 0] == pytest.approx(0.5) and np.isfinite(plan.size[:, 0]).sum() == 1


def test_bonus_shares_wait_for_listing_and_the_odd_lot_is_sold_on_its_own() -> None:
    n = 30
    factor = np.ones((n, 1))
    factor[5] = 1.12  # 100 -> 112 shares
    bars = flat_bars({"A": [10.0] * n}) | {"share_factor": factor}
    weights = np.full((n, 1), np.nan)
    weights[0], weights[5] = 0.5, 0.0  # buy, then exit right after the ex-date
    rules = Rules(bonus_lock_days=20)
    plan = plan_orders(weights, bars, bars["close"], 2_100.0, rules)
    sold = {int(t): -plan.size[t, 0] for t in np.flatnonzero(np.nan_to_num(plan.size[:, 0]) < 0)}
    # The 100 settled shares go at once (whole lot); the 12 bonus shares only once listed, bar 5 + 20, as an odd lot.
    assert sold == {6: 100, 25: 12} and plan.positions[-1, 0] == 0
