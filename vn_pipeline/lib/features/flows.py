"""Foreign-investor flow features, normalized by the symbol's own traded value so they compare across symbols.

With buy_value / sell_value (VND, foreign matched trades), value (VND, all trades) and room_remaining
(shares foreigners may still buy):
- foreign_net_ratio = (buy_value - sell_value) / value of the day, in [-1, 1];
- foreign_net_ratio_5 / _20 = Σ net / Σ value over 5 / 20 bars (the same ratio on a smoother base);
- foreign_net_chg_5 = foreign_net_ratio_5 - its value 5 bars earlier (change of the weekly flow);
- foreign_net_acc_5 = foreign_net_chg_5 - its value 5 bars earlier (acceleration: change of the change);
- foreign_participation_20 = Σ (buy_value + sell_value) / (2 Σ value) over 20 bars: foreigners' share of trading;
- foreign_room_usage_60 = 1 - room_remaining / max(room_remaining over 60 bars). The total foreign room is not in
  the feed, so the recent maximum stands in for it: 0 = room as open as it has been lately, → 1 = room being
  used up; 1 when the room has stayed at 0 (full) for the whole window. Room is in raw shares, so a stock
  dividend (which enlarges the room) shows as a drop in usage.
- foreign_room_full = 1 when room_remaining is 0 (foreigners can only buy from other foreigners), else 0.
Days without a flow row, or no flows at all, give NaN, never zero flow: a window is full or nothing, so one
day without a row (CafeF's rejected padding rows, a ticker without GDKhoiNgoai.csv) blanks every window that
holds it; a day with zero traded value gives NaN ratios. rules.FOREIGN_WINDOWS gives each window, for the NaN rule.

Proprietary (securities companies' own-account) flows, with prop_buy_value / prop_sell_value (VND):
- prop_net_ratio = (buy - sell) / value of the day;
- prop_net_ratio_5 / _20 = Σ net / Σ value over 5 / 20 bars;
- prop_participation_20 = Σ (buy + sell) / (2 Σ value) over 20 bars: the desks' share of trading.
The vendor file is sparse (CafeF GDTuDoanh.csv lists a name on the days a desk traded it: VCB every session,
ADS 33 days in three years), so inside a window that holds at least one proprietary row of the symbol a bar
without a row counts as zero flow; a window without any row is no data, NaN, not zero flow (the simulator and
most vendors have no proprietary flows at all). PROP_WINDOWS gives each feature's window, for the NaN rule.
"""

from __future__ import annotations

import numpy as np

from vn_pipeline.lib.features.rolling import Panel, rolling_max, rolling_sum, shift

NAMES: tuple[str, ...] = (
    "foreign_net_ratio",
    "foreign_net_ratio_5",
    "foreign_net_ratio_20",
    "foreign_net_chg_5",
    "foreign_net_acc_5",
    "foreign_participation_20",
    "foreign_room_usage_60",
    "foreign_room_full",
)
PROP_WINDOWS: dict[str, int] = {
    "prop_net_ratio": 1,
    "prop_net_ratio_5": 5,
    "prop_net_ratio_20": 20,
    "prop_participation_20": 20,
}
PROP_NAMES: tuple[str, ...] = tuple(PROP_WINDOWS)


def _div(a: Panel, b: Panel) -> Panel:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b != 0, a / b, np.nan)


def compute(p: dict[str, Panel]) -> dict[str, Panel]:
    value, buy, sell, room = p["value"], p["buy_value"], p["sell_value"], p["room_remaining"]
    net = buy - sell
    out = {"foreign_net_ratio": _div(net, value)}
    for n in (5, 20):
        out[f"foreign_net_ratio_{n}"] = _div(rolling_sum(net, n), rolling_sum(value, n))
    chg = out["foreign_net_ratio_5"] - shift(out["foreign_net_ratio_5"], 5)
    out["foreign_net_chg_5"] = chg
    out["foreign_net_acc_5"] = chg - shift(chg, 5)
    out["foreign_participation_20"] = _div(rolling_sum(buy + sell, 20), 2.0 * rolling_sum(value, 20))
    peak = rolling_max(room, 60)
    with np.errstate(divide="ignore", invalid="ignore"):
        usage = np.where(peak > 0, 1.0 - room / peak, 1.0)
    out["foreign_room_usage_60"] = np.where(np.isnan(peak) | np.isnan(room), np.nan, usage)
    out["foreign_room_full"] = np.where(np.isnan(room), np.nan, (room <= 0).astype(np.float64))
    return out


def proprietary_rows(p: dict[str, Panel], n: int) -> Panel:
    """How many of the n bars up to each row carry a proprietary-flow row (NaN inside the first n - 1 bars)."""
    return rolling_sum((~np.isnan(p["prop_buy_value"])).astype(np.float64), n)


def compute_proprietary(p: dict[str, Panel]) -> dict[str, Panel]:
    value = p["value"]
    # A bar without a row inside a window that has rows is a day no desk traded the name (sparse file).
    buy, sell = np.nan_to_num(p["prop_buy_value"], nan=0.0), np.nan_to_num(p["prop_sell_value"], nan=0.0)
    net = buy - sell
    out: dict[str, Panel] = {}
    for name, n in PROP_WINDOWS.items():
        flow = buy + sell if name.startswith("prop_participation") else net
        base = value if name.startswith("prop_net") else 2.0 * value
        ratio = _div(rolling_sum(flow, n), rolling_sum(base, n))
        out[name] = np.where(proprietary_rows(p, n) > 0, ratio, np.nan)
    return out
