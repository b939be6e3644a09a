"""Audit of stored fills against the exchange's rules, independent of the planner that produced them.

The blocking checks on every backtest run this over the fills read back from the warehouse, so a planner bug,
a hand-edited row or a stale table cannot present a rule-breaking backtest as a result.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vn_pipeline.lib.backtest.rules import Rules, fill_price_panel, tradable_masks

VIOLATION_COLUMNS = ["date", "symbol", "side", "rule", "detail"]


def _violation(rows: pd.DataFrame, rule: str, details) -> pd.DataFrame:
    out = rows[["date", "symbol", "side"]].copy()
    out["rule"] = rule
    out["detail"] = list(details) if not isinstance(details, str) else details
    return out


def fill_violations(trades: pd.DataFrame, bars: dict[str, pd.DataFrame], rules: Rules) -> pd.DataFrame:
    """Every fill that breaks a rule, one row per (fill, rule), with a readable detail.

    ``trades``: date, symbol, side, shares, price, signal_date. ``bars``: the panels the backtest traded on
    (dates × symbols: open, high, low, close, vwap, volume, ceiling, floor)."""
    if trades.empty:
        return pd.DataFrame(columns=VIOLATION_COLUMNS)
    dates = bars["close"].index
    symbols = bars["close"].columns
    t = dates.get_indexer(trades["date"])
    j = symbols.get_indexer(trades["symbol"])
    found = []

    off_calendar = (t < 0) | (j < 0)
    if off_calendar.any():
        found.append(_violation(trades[off_calendar], "unknown_bar", "no bar for this date and symbol"))
    on = ~off_calendar
    tr, t, j = trades[on], t[on], j[on]

    odd = tr["shares"].to_numpy() % rules.lot != 0
    found.append(_violation(tr[odd], "lot", (f"{s} shares, lot {rules.lot}" for s in tr.loc[odd, "shares"])))

    early = pd.to_datetime(tr["signal_date"]).to_numpy() >= pd.to_datetime(tr["date"]).to_numpy()
    found.append(
        _violation(
            tr[early],
            "fill_before_signal",
            (f"signal of {s} is not before the fill" for s in tr.loc[early, "signal_date"]),
        )
    )

    arrays = {k: bars[k].reindex(index=dates, columns=symbols).to_numpy(dtype=float) for k in bars}
    can_buy, can_sell = tradable_masks(arrays, rules.fill)
    price = tr["price"].to_numpy(dtype=float)
    expected = fill_price_panel(arrays, rules.fill)[t, j]
    wrong = ~np.isclose(price, expected, rtol=1e-9, atol=0.0)
    pairs = zip(price[wrong], expected[wrong], strict=True)
    found.append(_violation(tr[wrong], "fill_price", (f"filled at {p:.2f}, the {rules.fill} price is {e:.2f}"
                                                       for p, e in pairs)))  # fmt: skip
    ceiling, floor = arrays["ceiling"][t, j], arrays["floor"][t, j]
    unknown = np.isnan(ceiling) | np.isnan(floor)
    found.append(_violation(tr[unknown], "no_limits", "no ceiling/floor for this day: the band cannot be verified"))
    tol = 1e-9 * np.abs(price)
    outside = (price > ceiling + tol) | (price < floor - tol)
    bands = zip(price[outside], floor[outside], ceiling[outside], strict=True)
    found.append(_violation(tr[outside], "band", (f"price {p:.2f} outside [{f:.2f}, {c:.2f}]" for p, f, c in bands)))
    buy = (tr["side"] == "buy").to_numpy()
    blocked = np.where(buy, ~can_buy[t, j], ~can_sell[t, j]) & ~outside
    why = np.where(
        buy[blocked],
        "buy at a ceiling-locked price or on a no-trade day",
        "sell at a floor-locked price or on a no-trade day",
    )
    found.append(_violation(tr[blocked], "untradable", why))

    found.append(_settlement_violations(tr, t, rules))
    found = [f for f in found if len(f)]
    if not found:
        return pd.DataFrame(columns=VIOLATION_COLUMNS)
    return pd.concat(found, ignore_index=True)[VIOLATION_COLUMNS]


def _settlement_violations(trades: pd.DataFrame, bar: np.ndarray, rules: Rules) -> pd.DataFrame:
    """Sells of more shares than were held and settled: shares bought at bar F are sellable from F + hold."""
    hold = rules.min_hold_bars
    bad: list[int] = []
    details: list[str] = []
    ordered = trades.assign(bar=bar, buy_after_sell=(trades["side"] != "sell").astype(int))
    for _, fills in ordered.sort_values(["bar", "buy_after_sell"], kind="stable").groupby("symbol", sort=False):
        held = 0
        buys: list[tuple[int, int]] = []  # (bar, shares) of recent buys, to age them
        for idx, row in zip(fills.index, fills.itertuples(index=False), strict=True):
            if row.side == "buy":
                held += row.shares
                buys.append((row.bar, row.shares))
                continue
            unsettled = sum(s for b, s in buys if b > row.bar - hold)
            if row.shares > held - unsettled:
                bad.append(idx)
                details.append(f"sold {row.shares}, held {held} of which {unsettled} not yet settled (T+2)")
            held -= row.shares
    return _violation(trades.loc[bad], "settlement", details)
