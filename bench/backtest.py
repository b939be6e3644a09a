"""Benchmark: the VN-rule backtester (numba order planner + vectorbt replay) on a synthetic full market.

A seeded panel of 1,600 symbols × 2,500 trading days (tick-grid prices inside ±7% limits, limit-locked days,
suspensions, missing bars, symbols listing mid-panel, stock dividends whose bonus shares and odd lots the book
must carry) is traded by a top-50 equal-weight momentum book rebalanced
every 5 days, under the full rule set, through ``run_backtest``. Timed: the first call in this (fresh) process,
which includes numba compile or cache load for the planner and vectorbt; a warm call; and the planner alone.
After a change to engine.py the first run compiles the planner (cache miss) and the next loads it from numba's
cache (hit): the difference between their first calls is the compile.

Then the same strategy and rules are hand-written as a plain pandas/Python event loop (the way one would write
it without the engine) and run against ``run_backtest`` on a 200 × 500 subset: both must end with the same
equity (relative 1e-6) and the same number of fills, otherwise the speed ratio would compare different work.

Prints a few human lines; the LAST line is one JSON object with the figures.
Run: .venv/bin/python bench/backtest.py
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from vn_pipeline.lib.backtest import Rules, run_backtest
from vn_pipeline.lib.backtest.engine import CASH_EPS, kernel_inputs, plan_kernel, plan_orders
from vn_pipeline.lib.backtest.runner import BAR_FIELDS

SEED = 20240604
N_DAYS, N_SYMBOLS = 2_500, 1_600
SUB_DAYS, SUB_SYMBOLS = 500, 200
TOP_K, REBALANCE_EVERY, MOMENTUM_DAYS = 50, 5, 20
INIT_CASH = 10_000_000_000.0  # 10 bn VND: ~200 M per name, thousands of shares, so lots bind but do not dominate
LIMIT = 0.07  # HOSE daily band
P_LOCK_UP, P_LOCK_DOWN = 0.015, 0.01  # whole session at the ceiling / floor
P_SUSPENDED, P_MISSING = 0.005, 0.003  # zero-volume bar at the previous close / no bar at all
P_LATE_LISTING = 0.25
P_DIVIDEND = 0.0004  # per symbol-day: about one stock dividend per symbol per decade
DIVIDEND_RATIOS = (0.05, 0.1, 0.15, 0.2, 0.125)
REPEATS = 3


# --- synthetic market ------------------------------------------------------------------------------------------------


def _tick(price: np.ndarray) -> np.ndarray:
    """HOSE price step in VND for a price level."""
    return np.where(price < 10_000, 10.0, np.where(price < 50_000, 50.0, 100.0))


def synthetic_market(n_days: int, n_symbols: int, seed: int) -> dict[str, pd.DataFrame]:
    """Wide (dates × symbols) daily bars in VND, with the obstacles the VN rules exist for."""
    rng = np.random.default_rng(seed)
    prev = np.round(np.exp(rng.normal(np.log(20_000), 0.8, n_symbols)), -1)
    beta = rng.uniform(0.5, 1.5, n_symbols)
    drift = rng.normal(0.0, 0.0005, n_symbols)  # persistent drift gives the momentum score something to find
    panels = {k: np.empty((n_days, n_symbols)) for k in BAR_FIELDS}
    share_factor = np.ones((n_days, n_symbols))
    for t in range(n_days):
        ex = rng.random(n_symbols) < P_DIVIDEND
        share_factor[t, ex] = 1.0 + rng.choice(DIVIDEND_RATIOS, int(ex.sum()))
        prev = np.where(ex, np.maximum(np.round(prev / share_factor[t] / _tick(prev)) * _tick(prev), 10.0), prev)
        ceiling = np.floor(prev * (1 + LIMIT) / _tick(prev)) * _tick(prev)
        floor = np.ceil(prev * (1 - LIMIT) / _tick(prev)) * _tick(prev)
        ret = drift + beta * rng.normal(0.0, 0.012) + rng.normal(0.0, 0.022, n_symbols)
        close = np.clip(np.round(prev * np.exp(ret) / _tick(prev)) * _tick(prev), floor, ceiling)
        gap = rng.normal(0.0, 0.01, n_symbols)
        open_ = np.clip(np.round(prev * np.exp(gap) / _tick(prev)) * _tick(prev), floor, ceiling)
        high = np.minimum(np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.01, n_symbols))), ceiling)
        low = np.maximum(np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.01, n_symbols))), floor)
        vwap = (high + low + close) / 3.0
        volume = np.round(np.exp(rng.normal(11.0, 1.2, n_symbols)), -2) + 100.0
        u = rng.random(n_symbols)
        for locked, limit in ((u < P_LOCK_UP, ceiling), ((u >= P_LOCK_UP) & (u < P_LOCK_UP + P_LOCK_DOWN), floor)):
            for panel in (open_, high, low, close, vwap):
                panel[locked] = limit[locked]
        off = rng.random(n_symbols)
        suspended = off < P_SUSPENDED
        for panel in (open_, high, low, close, vwap):
            panel[suspended] = prev[suspended]
        volume[suspended] = 0.0
        day = {"open": open_, "high": high, "low": low, "close": close, "vwap": vwap, "volume": volume}
        day |= {"ceiling": ceiling, "floor": floor}
        for k, v in day.items():
            panels[k][t] = v
        missing = (off >= P_SUSPENDED) & (off < P_SUSPENDED + P_MISSING)
        for k in BAR_FIELDS:
            panels[k][t, missing] = np.nan
        prev = np.where(missing, prev, close)
    first = np.where(rng.random(n_symbols) < P_LATE_LISTING, rng.integers(1, int(n_days * 0.8), n_symbols), 0)
    not_listed = np.arange(n_days)[:, None] < first[None, :]
    for panel in panels.values():
        panel[not_listed] = np.nan
    panels["share_factor"] = np.where(not_listed, 1.0, share_factor)
    index = pd.bdate_range("2016-01-04", periods=n_days, name="trading_date")
    columns = pd.Index([f"S{j:04d}" for j in range(n_symbols)], name="symbol")
    return {k: pd.DataFrame(v, index=index, columns=columns) for k, v in panels.items()}


def adjusted_close(bars: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Closes continuous across ex-dates (in first-bar share units), so a dividend is no momentum signal."""
    return bars["close"] * bars["share_factor"].cumprod()


def momentum_topk(close: pd.DataFrame, k: int, every: int, lookback: int) -> pd.DataFrame:
    """Equal weight 1/k on the k best ``lookback``-day returns every ``every`` bars; NaN rows = no new decision."""
    score = close.ffill().pct_change(lookback).to_numpy()
    weights = np.full(score.shape, np.nan)
    for t in range(lookback, len(score), every):
        ok = np.flatnonzero(np.isfinite(score[t]))
        if len(ok) == 0:
            continue
        best = ok[np.argsort(-score[t, ok], kind="stable")[:k]]
        weights[t] = 0.0
        weights[t, best] = 1.0 / k
    return pd.DataFrame(weights, index=close.index, columns=close.columns)


# --- the hand-written baseline ---------------------------------------------------------------------------------------


def pandas_event_loop(
    weights: pd.DataFrame, bars: dict[str, pd.DataFrame], init_cash: float, rules: Rules
) -> tuple[float, int]:
    """Same strategy and rules as ``run_backtest``, written as a day loop over dict positions: (final equity, fills).

    Each day reads its rows with ``.loc`` and walks the symbols in column order: stock dividends credit
    floor(shares × factor) (bonus shares locked until listed); on the bar after a decision, target share counts
    are fixed from equity at the decision's close, then every bar sells toward target first (whole lots plus the
    odd lot; shares bought fewer than ``min_hold_bars`` ago cannot be sold), then buys whole lots, each cut by the
    same fraction when the cash cannot pay for all. Locked limits and no-volume days block the side they block.
    """
    fill_panel = {"next_open": bars["open"], "vwap": bars["vwap"], "close": bars["close"]}[rules.fill]
    factor = bars["share_factor"]
    cum = factor.cumprod()
    mark = (bars["close"] * cum).ffill() / cum  # carried across untraded days in constant share units
    hold, lot = rules.min_hold_bars, rules.lot
    sell_rate = rules.sell_fee + rules.sale_tax
    days, symbols = list(weights.index), list(weights.columns)

    cash = init_cash
    positions: dict[str, float] = {}
    locks: dict[str, list[tuple[int, float]]] = {}  # (first sellable bar, shares): recent buys, unlisted bonus
    targets: dict[str, float] | None = None
    fills = 0

    def usable(p: float) -> bool:
        return math.isfinite(p) and p > 0

    def active(p: float, v: float) -> bool:  # a trade printed at a usable price
        return usable(p) and math.isfinite(v) and v > 0

    for i, day in enumerate(days):
        px, vol = fill_panel.loc[day], bars["volume"].loc[day]
        ceiling, floor = bars["ceiling"].loc[day], bars["floor"].loc[day]
        one_price = (bars["high"].loc[day] <= bars["low"].loc[day]) | (rules.fill == "next_open")
        k_day = factor.loc[day]
        for s in k_day.index[k_day != 1.0]:
            have = positions.get(s, 0.0)
            if have:
                whole = float(math.floor(have * k_day[s] + 1e-6))
                locks.setdefault(s, []).append((i + rules.bonus_lock_days, whole - have))
                positions[s] = whole
            if targets is not None and s in targets:
                targets[s] = float(math.floor(targets[s] * k_day[s] + 1e-6))

        if i > 0 and weights.loc[days[i - 1]].notna().any():
            decision, prev_mark = weights.loc[days[i - 1]], mark.loc[days[i - 1]]
            ref = {}  # sized at the decision's close, in today's share units
            for s in symbols:
                p = prev_mark[s] / k_day[s]
                ref[s] = p if usable(p) else math.nan
            equity = cash + sum(positions.get(s, 0.0) * ref[s] for s in symbols if usable(ref[s]))
            targets = {}  # a name without a target (NaN weight, or no price to size it) is left alone
            for s in symbols:
                if usable(ref[s]) and not math.isnan(decision[s]):
                    targets[s] = max(math.floor(decision[s] * equity / ref[s] / lot) * lot, 0.0)
        if targets is None:
            continue

        for s in targets:
            have = positions.get(s, 0.0)
            if have <= targets[s] or not active(px[s], vol[s]) or (px[s] <= floor[s] and one_price[s]):
                continue
            locked = sum(q for first, q in locks.get(s, []) if first > i)
            qty = min(have - targets[s], max(0.0, have - locked))
            odd = have % lot  # bonus shares leave an odd lot: it may go with the whole lots
            qty = max(qty - qty % lot, qty - (qty - odd) % lot if 0 < odd <= qty else 0.0)
            if qty <= 0:
                continue
            cash += qty * px[s] * (1.0 - sell_rate)
            positions[s] = have - qty
            fills += 1
        wants = {}
        for s in targets:
            want = math.floor((targets[s] - positions.get(s, 0.0)) / lot) * lot
            if want > 0 and active(px[s], vol[s]) and not (px[s] >= ceiling[s] and one_price[s]):
                wants[s] = want
        need = 0.0
        for s, want in wants.items():
            need += want * px[s] * (1.0 + rules.buy_fee)
        budget = cash * (1.0 - CASH_EPS)
        share = 1.0 if need <= budget else budget / need  # short of cash: every buy gets the same fraction
        for s, want in wants.items():
            have = positions.get(s, 0.0)
            unit = px[s] * (1.0 + rules.buy_fee)
            qty = min(math.floor(want * share / lot) * lot, math.floor(cash * (1.0 - CASH_EPS) / unit / lot) * lot)
            if qty <= 0:
                continue
            cash -= qty * unit
            positions[s] = have + qty
            locks[s] = [(first, q) for first, q in locks.get(s, []) if first > i] + [(i + hold, qty)]
            fills += 1

    last = mark.iloc[-1]
    return cash + sum(q * last[s] for s, q in positions.items() if q), fills


# --- timing ----------------------------------------------------------------------------------------------------------


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def best_of(fn: Callable[[], object], repeats: int = REPEATS) -> tuple[float, object]:
    runs = [timed(fn) for _ in range(repeats)]
    return min(r[0] for r in runs), runs[-1][1]


def main() -> None:
    t_gen, bars = timed(lambda: synthetic_market(N_DAYS, N_SYMBOLS, SEED))
    weights = momentum_topk(adjusted_close(bars), TOP_K, REBALANCE_EVERY, MOMENTUM_DAYS)
    rules = Rules()
    print(f"synthetic market {N_SYMBOLS} symbols x {N_DAYS} days generated in {t_gen:.1f} s (not timed below)")

    first_s, res = timed(lambda: run_backtest(weights, bars, INIT_CASH, rules))
    kernel_cache_hit = sum(plan_kernel.stats.cache_hits.values()) > 0
    warm_s, res = timed(lambda: run_backtest(weights, bars, INIT_CASH, rules))

    # The planner alone, on the aligned arrays run_backtest hands it.
    arr = {k: bars[k].to_numpy(dtype=float) for k in (*BAR_FIELDS, "share_factor")}
    cum = np.cumprod(arr["share_factor"], axis=0)
    mark = pd.DataFrame(arr["close"] * cum).ffill().to_numpy() / cum
    w = weights.to_numpy(dtype=float)
    plan_s, plan = best_of(lambda: plan_orders(w, arr, mark, INIT_CASH, rules))
    args = kernel_inputs(w, arr, mark, INIT_CASH, rules)
    kernel_s, _ = best_of(lambda: plan_kernel(*args))
    traded = np.isfinite(plan.size)
    retried = int((plan.signal[traded] < np.nonzero(traded)[0] - 1).sum())  # fills after a blocked first bar
    print(
        f"run_backtest: first call {first_s:.2f} s (planner cache {'hit' if kernel_cache_hit else 'miss'}), "
        f"warm {warm_s:.2f} s; planner warm {plan_s * 1e3:.0f} ms (kernel {kernel_s * 1e3:.0f} ms); "
        f"{len(res.trades):,} fills ({retried:,} retried), total return {res.stats['total_return']:+.1%}"
    )

    sub_bars = {k: v.iloc[-SUB_DAYS:, :SUB_SYMBOLS] for k, v in bars.items()}
    sub_weights = momentum_topk(adjusted_close(sub_bars), TOP_K, REBALANCE_EVERY, MOMENTUM_DAYS)
    vec_s, sub_res = best_of(lambda: run_backtest(sub_weights, sub_bars, INIT_CASH, rules))
    sub_arr = {k: v.to_numpy(dtype=float) for k, v in sub_bars.items()}
    sub_cum = np.cumprod(sub_arr["share_factor"], axis=0)
    sub_mark = pd.DataFrame(sub_arr["close"] * sub_cum).ffill().to_numpy() / sub_cum
    sub_w = sub_weights.to_numpy(dtype=float)
    sub_plan_s, _ = best_of(lambda: plan_orders(sub_w, sub_arr, sub_mark, INIT_CASH, rules))
    loop_s, (loop_equity, loop_fills) = best_of(lambda: pandas_event_loop(sub_weights, sub_bars, INIT_CASH, rules))
    vec_equity = float(sub_res.equity.iloc[-1])
    rel_diff = abs(loop_equity - vec_equity) / vec_equity
    if rel_diff > 1e-6 or loop_fills != len(sub_res.trades):
        raise SystemExit(
            f"pandas loop disagrees: equity {loop_equity:,.0f} vs {vec_equity:,.0f}, "
            f"fills {loop_fills} vs {len(sub_res.trades)}"
        )
    print(
        f"subset {SUB_SYMBOLS} x {SUB_DAYS}: pandas event loop {loop_s:.2f} s vs run_backtest {vec_s:.3f} s "
        f"({loop_s / vec_s:.0f}x; planner alone {sub_plan_s * 1e3:.1f} ms, {loop_s / sub_plan_s:.0f}x); "
        f"same final equity (rel diff {rel_diff:.1e}) and {loop_fills:,} fills"
    )
    print(
        json.dumps(
            {
                "symbols": N_SYMBOLS,
                "days": N_DAYS,
                "fills": len(res.trades),
                "retried_fills": retried,
                "first_call_s": round(first_s, 3),
                "planner_cache_hit": kernel_cache_hit,
                "warm_s": round(warm_s, 3),
                "plan_orders_warm_s": round(plan_s, 4),
                "kernel_warm_s": round(kernel_s, 4),
                "subset_symbols": SUB_SYMBOLS,
                "subset_days": SUB_DAYS,
                "subset_fills": loop_fills,
                "pandas_loop_s": round(loop_s, 3),
                "vectorized_s": round(vec_s, 4),
                "pandas_loop_over_vectorized": round(loop_s / vec_s, 1),
                "subset_plan_orders_s": round(sub_plan_s, 5),
                "pandas_loop_over_planner": round(loop_s / sub_plan_s),
                "final_equity_rel_diff": float(f"{rel_diff:.2e}"),
            }
        )
    )


if __name__ == "__main__":
    main()
