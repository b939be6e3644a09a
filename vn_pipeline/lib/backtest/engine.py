"""Order generation: a day-by-day numpy simulation that enforces the VN rules and emits exact share sizes.

Why precompute instead of a numba order function: the rules (lots, T+2 lot ageing, locked limits, pending targets
that survive blocked days, shared cash with sells first) are far easier to get right and to test in plain Python,
and the resulting order sizes are replayed through ``vbt.Portfolio.from_orders``, which then owns the accounting.
The runner cross-checks that vectorbt filled exactly these orders, so the two can never silently diverge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vn_pipeline.lib.backtest.rules import Rules, fill_price_panel, tradable_masks

_CASH_EPS = 1e-9  # relative headroom so float rounding in vectorbt can never reject a buy we sized to the cent


@dataclass(frozen=True)
class OrderPlan:
    size: np.ndarray  # (n_bars, n_symbols) signed shares, NaN = no order
    price: np.ndarray  # fill price on bars with an order
    fees: np.ndarray  # fractional fees per order (sell = sell_fee + sale_tax), for vectorbt
    positions: np.ndarray  # shares held after each bar
    cash: np.ndarray  # cash after each bar


def plan_orders(
    weights: np.ndarray, bars: dict[str, np.ndarray], mark: np.ndarray, init_cash: float, rules: Rules
) -> OrderPlan:
    """Simulate rebalancing to ``weights`` under ``rules``.

    weights[t] is the target decided at bar t's close (NaN row = no new decision); it is acted on from bar t+1.
    A decision fixes a target *share count* per symbol (floor to the lot) using equity at the first execution bar's
    fill prices; each symbol then trades toward its target on every following bar until reached or superseded, so a
    trade blocked by T+2, a locked limit, suspension or cash is retried, not dropped.
    ``mark`` is the forward-filled close used to value symbols without a usable fill price.
    """
    n, m = weights.shape
    price = fill_price_panel(bars, rules.fill)
    can_buy, can_sell = tradable_masks(bars, rules.fill)
    hold = rules.min_hold_bars
    lot = rules.lot

    size = np.full((n, m), np.nan)
    fees = np.zeros((n, m))
    positions = np.zeros((n, m))
    cash_path = np.zeros(n)
    bought = np.zeros((n, m))  # shares bought per bar, to age lots for T+2

    pos = np.zeros(m)
    cash = float(init_cash)
    target: np.ndarray | None = None  # pending target shares (NaN = no pending order for that symbol)

    for t in range(n):
        if t > 0 and np.isfinite(weights[t - 1]).any():
            w = np.nan_to_num(weights[t - 1], nan=0.0)
            ref = np.where(np.isfinite(price[t]) & (price[t] > 0), price[t], mark[t - 1])
            ref = np.where(np.isfinite(ref) & (ref > 0), ref, np.nan)
            equity = cash + np.nansum(pos * np.nan_to_num(ref))
            raw = np.floor(w * equity / ref / lot) * lot
            target = np.where(np.isfinite(raw), np.maximum(raw, 0.0), pos)  # unpriceable symbol: leave as is

        if target is not None:
            # Sells first so their proceeds fund the same bar's buys.
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
            # Buys in column order (deterministic); each limited to whole lots the remaining cash can pay for.
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

    return OrderPlan(
        size=size, price=np.where(np.isfinite(size), price, np.nan), fees=fees, positions=positions, cash=cash_path
    )
