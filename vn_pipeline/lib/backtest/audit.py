"""Audit of stored fills against the exchange's rules, independent of the planner that produced them.

The blocking checks on every backtest run this over the fills read back from the warehouse, so a planner bug,
a hand-edited row or a stale table cannot present a rule-breaking backtest as a result.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vn_pipeline.lib.backtest.rules import Rules, fill_price_panel, share_factor_panel, tradable_masks

VIOLATION_COLUMNS = ["date", "symbol", "side", "rule", "detail"]


def _violation(rows: pd.DataFrame, rule: str, details) -> pd.DataFrame:
    out = rows[["date", "symbol", "side"]].copy()
    out["rule"] = rule
    out["detail"] = list(details) if not isinstance(details, str) else details
    return out


def fill_violations(trades: pd.DataFrame, bars: dict[str, pd.DataFrame], rules: Rules) -> pd.DataFrame:
    """Every fill that breaks a rule, one row per (fill, rule), with a readable detail.

    ``trades``: date, symbol, side, shares, price, signal_date. ``bars``: the panels the backtest traded on
    (dates × symbols: open, high, low, close, vwap, volume, ceiling, floor, and ``share_factor`` if holdings
    received bonus shares)."""
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

    found.extend(_holding_violations(tr, t, j, share_factor_panel(arrays), rules))
    found = [f for f in found if len(f)]
    if not found:
        return pd.DataFrame(columns=VIOLATION_COLUMNS)
    return pd.concat(found, ignore_index=True)[VIOLATION_COLUMNS]


def _holding_violations(
    trades: pd.DataFrame, bar: np.ndarray, col: np.ndarray, factor: np.ndarray, rules: Rules
) -> list[pd.DataFrame]:
    """Replays each symbol's holding through its fills and stock dividends, for the two rules that depend on it:

    - lot: a buy is whole lots; a sell is whole lots, plus at most the position's odd lot (bonus shares leave
      one, sold on the odd-lot board);
    - settlement: only settled shares are sold. Shares bought at bar F are sellable from F + min_hold_bars,
      bonus shares credited at ex-date bar X from X + bonus_lock_days.
    """
    lot, hold = rules.lot, rules.min_hold_bars
    bad = {"lot": ([], []), "settlement": ([], [])}
    ordered = trades.assign(bar=bar, col=col, buy_after_sell=(trades["side"] != "sell").astype(int))
    for _, fills in ordered.sort_values(["bar", "buy_after_sell"], kind="stable").groupby("symbol", sort=False):
        j = int(fills["col"].iloc[0])
        ex_bars = np.flatnonzero(factor[:, j] != 1.0)
        held, done = 0, 0  # shares held; ex-dates already applied
        locks: list[tuple[int, int]] = []  # (first sellable bar, shares)
        for idx, row in zip(fills.index, fills.itertuples(index=False), strict=True):
            while done < len(ex_bars) and ex_bars[done] <= row.bar:
                x = ex_bars[done]
                whole = int(np.floor(held * factor[x, j] + 1e-6))
                locks.append((x + rules.bonus_lock_days, whole - held))
                held, done = whole, done + 1
            if row.side == "buy":
                if row.shares % lot:
                    bad["lot"][0].append(idx)
                    bad["lot"][1].append(f"bought {row.shares} shares, lot {lot}")
                held += row.shares
                locks.append((row.bar + hold, row.shares))
                continue
            if row.shares % lot not in (0, held % lot):
                bad["lot"][0].append(idx)
                bad["lot"][1].append(f"sold {row.shares} of {held} shares: whole lots of {lot} plus at most the "
                                     f"odd lot of {held % lot}")  # fmt: skip
            locked = sum(q for first, q in locks if first > row.bar)
            if row.shares > held - locked:
                bad["settlement"][0].append(idx)
                bad["settlement"][1].append(
                    f"sold {row.shares}, held {held} of which {locked} not yet settled (T+2) or listed (bonus)"
                )
            held -= row.shares
    return [_violation(trades.loc[rows], rule, details) for rule, (rows, details) in bad.items()]
