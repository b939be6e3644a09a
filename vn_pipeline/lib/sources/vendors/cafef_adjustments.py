"""Corporate actions read off CafeF's adjusted close, and the price cuts the vendor never adjusted.

CafeF backward-adjusts: ``adj_close = close × K`` where K, the product of the factors of every later event, is
constant between events and steps up on each ex-date. An event's factor is ``f = K_before / K_after`` (< 1 for a
price cut) and the exchange's adjusted reference is ``previous close × f``.

What the vendor's numbers allow, measured on the 123 real tickers of ``shared/data/vn_real/cafef``:

- ``adj_close`` is rounded to 10 VND (2 decimals in kVND), so one row only bounds K to
  ``[(adj − 5) / close, (adj + 5) / close]``: ±0.5% on a 1,000 VND adjusted price (old rows and penny stocks).
  Consecutive rows are therefore grouped into *plateaus*, maximal runs whose intervals share a point; the plateau's
  K is that common interval, far tighter than any single row (median half-width of a factor: 1 VND at the
  reference).
- A plateau break worth less than ``MIN_EVENT_VND`` at the reference price is the vendor re-rounding its own K
  (77 breaks of 1e-5 to 3e-4, 1-16 VND; no real dividend is that small), not an event.
- A run of at most ``MAX_GLITCH_ROWS`` rows off a plateau that resumes afterwards is a vendor glitch, not two
  events (SPC, THD, TKU on 2023-05-15 and 2023-06-13: adj_close = close for one day).
- CafeF rounds each event's factor to 4 decimals (341 of the 384 events whose plateaus pin the factor to 2e-5
  sit on that grid), so a kind is matched within the plateau's bound widened by ``FACTOR_ROUNDING``.

Kinds, by the announced number the factor fits (issuers announce round numbers):
- ``stock_dividend``: ``f = 1 / (1 + r)``, r on a 0.5% grid (VCB 49.5%) or a small ratio a:b (7:1 = 14.29%);
- ``cash_dividend``: ``f = 1 − D / P``, D a multiple of 50 VND (dividends are a percentage of the 10,000 par);
- both fit (P = 10,000 and a 5.26% stock dividend is a 500 VND cash one): the rounder reading wins (a cash
  multiple of 1,000 VND or a stock multiple of 5% over a finer one); a tie of the roundest (P = 22,000: 10% or
  2,000 VND) is ``unknown``, a finer tie goes to cash, the more common kind (858 to 162 here);
- ``rights_issue``: neither fits but ``f = (P + a × S) / ((1 + a) × P)`` with a subscription at par (S = 10,000)
  and a on a 0.5% grid;
- ``unknown``: nothing fits, the factor is too loose to tell, or it raises the price (f > 1: no payout does that;
  VFR 2017-06-09 is a vendor error kept so the adjusted series stays the vendor's).

``reference_after`` is the exchange's formula on the matched announcement (P − D; P / (1 + r);
(P + a S) / (1 + a)) or ``P × f`` for ``unknown``, rounded to the VND, not to the board's tick: the pair
reference_before/reference_after is the factor features adjust by and the value backtests credit, and a tick of
100 VND would misstate a 500 VND dividend by up to 20%. The tick-rounded reference that sets a day's band is the
listings' (lib/market/exchanges.price_limits), and the board of an old row is not known here.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vn_pipeline.lib.market.calendar import trading_days
from vn_pipeline.lib.market.exchanges import price_limits_array

ACTION_COLUMNS = (
    "trading_date",
    "symbol",
    "kind",
    "ratio",
    "reference_before",
    "reference_after",
    "cash_per_share",
    "inferred",
)
KINDS = ("stock_dividend", "cash_dividend", "rights_issue", "unknown")
ADJ_HALF_STEP_VND = 5.0  # half of CafeF's 10 VND rounding of adj_close
FACTOR_ROUNDING = 5e-5  # half a unit of the 4th decimal CafeF rounds factors to
MIN_EVENT_VND = 50.0  # smallest price cut taken as an event: 0.5% of par, the smallest dividend step
MAX_GLITCH_ROWS = 2
PAR_VND = 10_000
CASH_STEP_VND = 50
STOCK_STEP = 0.005
# Factors looser than this (relative) cannot separate a 0.5% stock step from a 50 VND cash step: kind unknown.
MAX_FACTOR_SLACK = 2e-3
# Widest daily band of any board (UPCoM), and after a halt of this many sessions or more, its first-day band.
LONG_HALT_SESSIONS = 25
UNADJUSTED_COLUMNS = (
    "trading_date",
    "symbol",
    "previous_date",
    "previous_close",
    "close",
    "raw_return",
    "adjusted_return",
    "floor",
    "ceiling",
)

_STOCK_RATIOS = np.unique(
    np.concatenate(
        [np.arange(1, 801) * STOCK_STEP, [b / a for a in range(2, 11) for b in range(1, a)]]  # up to 400%; a:b
    )
)


@dataclass
class _Plateau:
    start: int  # first row (index into the symbol's rows)
    stop: int  # one past the last row
    low: float  # K bounds every row of the plateau agrees with
    high: float
    glitches: list[int]  # rows inside it that were off the plateau (vendor glitches)

    @property
    def k(self) -> float:
        return (self.low + self.high) / 2

    @property
    def overlapping(self) -> bool:
        return self.low <= self.high


def corporate_actions_from_adjustment(prices: pd.DataFrame) -> pd.DataFrame:
    """Events in the ``market.corporate_actions`` layout (``ACTION_COLUMNS``) from one or many symbols' parsed
    CafeF prices (``read_cafef_prices``: trading_date, symbol, raw close in VND, adj_close in VND), one row per
    change of adj_close / close. ``ratio`` is new shares per old share (0 for cash), ``cash_per_share`` the VND per
    share of a cash dividend (NULL otherwise), ``inferred`` True."""
    rows: list[dict[str, object]] = []
    for symbol, frame in _by_symbol(prices):
        rows.extend(_symbol_events(symbol, frame))
    out = pd.DataFrame(rows, columns=list(ACTION_COLUMNS))
    return out.astype(
        {
            "ratio": "float64",
            "reference_before": "int64",
            "reference_after": "int64",
            "cash_per_share": "Int64",
            "inferred": "bool",
        }
    )


def unadjusted_moves(bars: pd.DataFrame, actions: pd.DataFrame) -> pd.DataFrame:
    """Symbol-days whose close moved beyond what any board's band allows with no corporate action that day: a
    price cut the vendor never adjusted (MWG 2021-08-30, −32.8% in both series).

    ``bars``: trading_date, symbol, close (raw VND), optionally high/low/value/volume and ``adj_close``.
    ``actions``: the ``market.corporate_actions`` rows of the same symbols (``trading_date`` = ex-date).
    Both the raw move and the adjusted move must be out of band: the adjusted one is ``adj_close``'s when the
    bars carry it, else the raw one corrected by the day's stored actions (reference_before/after), so a stored
    event explains its own ex-date. "Beyond any board" uses UPCoM's limits (±15%, the widest, with its one-tick
    minimum, ±40% on the first day after a halt of ``LONG_HALT_SESSIONS`` sessions) around the previous close and,
    where value and volume give it, the previous VWAP (UPCoM's reference), whichever is wider.
    """
    if bars.empty:
        return pd.DataFrame(columns=list(UNADJUSTED_COLUMNS))
    frame = bars.sort_values(["symbol", "trading_date"], kind="stable").reset_index(drop=True)
    same = frame["symbol"].eq(frame["symbol"].shift())
    prev_close = frame["close"].shift().where(same).astype("float64")
    references = [prev_close]
    if {"value", "volume"} <= set(frame.columns):
        vwap = (frame["value"] / frame["volume"].where(frame["volume"] > 0)).shift().where(same)
        references.append(vwap.astype("float64"))
    prev_date = frame["trading_date"].shift().where(same)
    halted = _sessions_skipped(frame["trading_date"]).where(same) >= LONG_HALT_SESSIONS

    floor = np.full(len(frame), np.inf)
    ceiling = np.full(len(frame), -np.inf)
    for ref in references:
        ok = ref.notna() & (ref > 0)
        ref_vnd = np.where(ok, np.rint(ref.fillna(1.0)), 1).astype("int64")
        low, high = price_limits_array(np.array("UPCOM"), ref_vnd, halted.fillna(False).to_numpy())
        floor = np.where(ok, np.minimum(floor, low), floor)
        ceiling = np.where(ok, np.maximum(ceiling, high), ceiling)
    close = frame["close"].astype("float64").to_numpy()
    raw_out = (close < floor) | (close > ceiling)

    factor = _day_factor(frame, actions)
    raw_return = close / prev_close.to_numpy() - 1
    if "adj_close" in frame.columns:
        adj = frame["adj_close"].astype("float64")
        k_before = (adj.shift() / prev_close).where(same).to_numpy()
        adjusted_return = (adj / adj.shift().where(same) - 1).to_numpy()
        tolerance = 2 * ADJ_HALF_STEP_VND  # both adjusted closes are rounded to 10 VND
        adj_vnd = adj.to_numpy()
        adjusted_out = (adj_vnd < floor * k_before - tolerance) | (adj_vnd > ceiling * k_before + tolerance)
        adjusted_out &= factor == 1.0  # K changed that day: the vendor adjusted it
    else:
        adjusted_return = (1 + raw_return) / factor - 1
        # The day's actions cut its reference: its limits, in the day's own prices, scale by the same factor.
        adjusted_out = (close < floor * factor) | (close > ceiling * factor)
    hit = raw_out & adjusted_out & same.to_numpy()
    out = pd.DataFrame(
        {
            "trading_date": frame["trading_date"].to_numpy(),
            "symbol": frame["symbol"].to_numpy(),
            "previous_date": prev_date.to_numpy(),
            "previous_close": prev_close.to_numpy(),
            "close": frame["close"].to_numpy(),
            "raw_return": raw_return,
            "adjusted_return": adjusted_return,
            "floor": floor,
            "ceiling": ceiling,
        }
    )
    return out[hit].reset_index(drop=True)[list(UNADJUSTED_COLUMNS)]


def _sessions_skipped(days: pd.Series) -> pd.Series:
    """Trading sessions strictly between each row's date and the previous row's (in row order)."""
    calendar = np.array(trading_days(min(days), max(days)), dtype="datetime64[D]")
    # A vendor row dated on a closed day (quarantined by the source) counts from the next session.
    index = pd.Series(np.searchsorted(calendar, np.array(days, dtype="datetime64[D]")), index=days.index)
    return index - index.shift() - 1


def _day_factor(frame: pd.DataFrame, actions: pd.DataFrame) -> np.ndarray:
    """Each bar's product of its actions' reference_after / reference_before (1 without an action)."""
    if actions is None or actions.empty:
        return np.ones(len(frame))
    before = pd.to_numeric(actions["reference_before"], errors="coerce").astype("float64")
    after = pd.to_numeric(actions["reference_after"], errors="coerce").astype("float64")
    ok = (before > 0) & (after > 0)
    f = (after / before).where(ok, 1.0)
    per_day = f.groupby([actions["trading_date"], actions["symbol"]]).prod()
    keys = pd.MultiIndex.from_arrays([frame["trading_date"], frame["symbol"]])
    return per_day.reindex(keys).fillna(1.0).to_numpy(dtype="float64")


def _by_symbol(prices: pd.DataFrame):
    usable = prices[(prices["close"] > 0) & (prices["adj_close"] > 0)]
    for symbol, frame in usable.groupby("symbol", sort=True):
        yield symbol, frame.sort_values("trading_date", kind="stable").reset_index(drop=True)


def _plateaus(adj: np.ndarray, close: np.ndarray) -> list[_Plateau]:
    """Maximal runs of rows whose K intervals share a point, then the vendor's re-roundings and glitches merged."""
    low = (adj - ADJ_HALF_STEP_VND - 1e-6) / close
    high = (adj + ADJ_HALF_STEP_VND + 1e-6) / close
    runs: list[_Plateau] = []
    start, lo, hi = 0, low[0], high[0]
    for i in range(1, len(adj)):
        new_lo, new_hi = max(lo, low[i]), min(hi, high[i])
        if new_lo <= new_hi:
            lo, hi = new_lo, new_hi
        else:
            runs.append(_Plateau(start, i, lo, hi, []))
            start, lo, hi = i, low[i], high[i]
    runs.append(_Plateau(start, len(adj), lo, hi, []))

    changed = True
    while changed:
        changed = False
        merged = [runs[0]]
        i = 1
        while i < len(runs):
            last, run = merged[-1], runs[i]
            if _same_level(last, run, close[run.start - 1]):
                merged[-1] = _join(last, run, [])
                i, changed = i + 1, True
            elif (
                i + 1 < len(runs)
                and run.stop - run.start <= MAX_GLITCH_ROWS
                and _same_level(last, runs[i + 1], close[runs[i + 1].start - 1])
            ):
                merged[-1] = _join(last, runs[i + 1], list(range(run.start, run.stop)))
                i, changed = i + 2, True
            else:
                merged.append(run)
                i += 1
        runs = merged
    return runs


def _same_level(a: _Plateau, b: _Plateau, price: float) -> bool:
    """Both plateaus are one K: their bounds meet, or the step between them is worth < MIN_EVENT_VND."""
    if max(a.low, b.low) <= min(a.high, b.high):
        return True
    return abs(price * (1 - a.k / b.k)) < MIN_EVENT_VND


def _join(a: _Plateau, b: _Plateau, glitches: list[int]) -> _Plateau:
    meet = max(a.low, b.low) <= min(a.high, b.high)
    # Bounds that meet narrow to their common part; a re-rounding step keeps the hull of both.
    low = max(a.low, b.low) if meet else min(a.low, b.low)
    high = min(a.high, b.high) if meet else max(a.high, b.high)
    return _Plateau(a.start, b.stop, low, high, a.glitches + glitches + b.glitches)


def _symbol_events(symbol: str, frame: pd.DataFrame) -> list[dict[str, object]]:
    if len(frame) < 2:
        return []
    adj = frame["adj_close"].to_numpy(dtype="float64")
    close = frame["close"].to_numpy(dtype="float64")
    plateaus = _plateaus(adj, close)
    events = []
    for before, after in itertools.pairwise(plateaus):
        previous = before.stop - 1
        while previous in before.glitches and previous > before.start:
            previous -= 1  # the reference is the last good close
        reference = float(close[previous])
        f_low, f_high = before.low / after.high, before.high / after.low
        kind, ratio, cash, reference_after = classify(reference, f_low, f_high)
        events.append(
            {
                "trading_date": frame["trading_date"].iloc[after.start],
                "symbol": symbol,
                "kind": kind,
                "ratio": ratio,
                "reference_before": int(reference),
                "reference_after": reference_after,
                "cash_per_share": cash,
                "inferred": True,
            }
        )
    return events


def classify(reference: float, f_low: float, f_high: float) -> tuple[str, float, int | None, int]:
    """(kind, ratio, cash_per_share, reference_after) of a price cut whose factor lies in [f_low, f_high], the
    previous close being ``reference`` VND (module docstring: the matching rules)."""
    f = _vendor_factor(f_low, f_high)
    slack = (f_high - f_low) / 2 + FACTOR_ROUNDING
    if f >= 1 or f <= 0 or slack > MAX_FACTOR_SLACK:
        return "unknown", 0.0, None, round(reference * f)

    stock = _closest(_STOCK_RATIOS, 1 / f - 1)
    stock_fits = abs(1 / (1 + stock) - f) <= slack
    cash = round(reference * (1 - f) / CASH_STEP_VND) * CASH_STEP_VND
    cash_fits = 0 < cash < reference and abs(1 - cash / reference - f) <= slack

    if stock_fits and cash_fits:
        stock_level, cash_level = _stock_roundness(stock), _cash_roundness(cash)
        if stock_level == cash_level == 3:
            return "unknown", 0.0, None, round(reference * f)
        # Below the roundest grid a tie goes to cash: 5 to 1 the more common kind among the unambiguous events.
        stock_fits, cash_fits = stock_level > cash_level, cash_level >= stock_level
    if stock_fits:
        return "stock_dividend", float(stock), None, round(reference / (1 + stock))
    if cash_fits:
        return "cash_dividend", 0.0, int(cash), round(reference - cash)
    if f * reference > PAR_VND:
        # (P + a S) / ((1 + a) P) = f  ⇔  a = P (1 − f) / (f P − S)
        a = _closest(np.arange(1, 801) * STOCK_STEP, reference * (1 - f) / (f * reference - PAR_VND))
        if abs((reference + a * PAR_VND) / ((1 + a) * reference) - f) <= slack:
            return "rights_issue", float(a), None, round((reference + a * PAR_VND) / (1 + a))
    return "unknown", 0.0, None, round(reference * f)


def _vendor_factor(f_low: float, f_high: float) -> float:
    """The factor CafeF applied: the one 4-decimal value within the bounds when there is exactly one (the bounds
    then only narrow around it as later rows arrive, so the estimate of an event is the same whatever comes after
    it), else the bounds' midpoint."""
    grid = np.arange(np.ceil((f_low - FACTOR_ROUNDING) * 1e4), np.floor((f_high + FACTOR_ROUNDING) * 1e4) + 1) / 1e4
    inside = grid[(grid >= f_low - FACTOR_ROUNDING) & (grid <= f_high + FACTOR_ROUNDING)]
    return float(inside[0]) if len(inside) == 1 else (f_low + f_high) / 2


def _closest(grid: np.ndarray, value: float) -> float:
    return float(grid[np.abs(grid - value).argmin()])


def _stock_roundness(ratio: float) -> int:
    per_mille = ratio * 1000
    if abs(per_mille - round(per_mille)) > 1e-6:
        return 0  # a:b like 7:1
    return 3 if round(per_mille) % 50 == 0 else 2 if round(per_mille) % 10 == 0 else 1


def _cash_roundness(cash: int) -> int:
    return 3 if cash % 1000 == 0 else 2 if cash % 500 == 0 else 1 if cash % 100 == 0 else 0
