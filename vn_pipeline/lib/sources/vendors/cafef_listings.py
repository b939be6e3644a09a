"""Per-day listings from CafeF history: the board each symbol traded on, its sector, reference price and limits.

The vendor's company list (``basic_info/companies_vnallshare.csv``) names today's board only: ``TradeCenterId``
1 = HOSE, 2 = HNX, 9 = UPCoM, anything else = on no exchange today (delisted). A symbol that moved (ACB: HNX until
December 2020) would carry today's board on every old row. So the board of each day is inferred from the prices,
and rows before the symbol's current board are flagged ``exchange_inferred``. The evidence, per day:

- a raw price off the 100 VND grid can only be HOSE (HNX and UPCoM quote in 100 VND steps; HOSE's finer steps
  date from 2016, so older HOSE prices carry no such evidence);
- a close beyond HOSE's ±7% limits around the previous close cannot be HOSE, beyond HNX's ±10% cannot be HNX
  (neither band has ever been wider; UPCoM's reference is the previous average price, so no close excludes it);
  a day after a corporate action or a long gap carries no band evidence (its reference or band differs);
- no symbol traded on a board before the board opened: HNX (then HASTC) on 2005-07-14, UPCoM on 2009-06-24.

Each symbol's board history is the path that contradicts the fewest days, where a change of board costs
CHANGE_COST contradicted days (a vendor typo must not invent a transfer and a transfer back) and ending on
another board than the vendor's list costs as much: a Viterbi over the three boards, on runs of days that carry
the same evidence. Ties go to the current board, then HNX, HOSE, UPCoM.

Reference price: the previous close on HOSE and HNX, the previous day's average matched price (value / volume,
to the 100 VND tick) on UPCoM, cut by the corporate action's factor on an ex-date. Limits use today's bands and
ticks (VN_MARKET.md lists no earlier regimes): before 2013 the real bands were at most as wide, so a price check
on old days is lenient, never falsely strict. A symbol's first row, its first after at least LONG_GAP_SESSIONS
sessions without a trade (missing rows or the vendor's zero-volume rows of a halt), and its first on a new board,
is a first day (the wider band). The vendor gives no listing reference for a symbol's first row: the day's open
stands in for it.
"""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd

from vn_pipeline.lib.market.calendar import trading_days
from vn_pipeline.lib.market.exchanges import EXCHANGES, price_limits_array, tick_sizes
from vn_pipeline.lib.warehouse import columns

COMPANIES_FILE = Path("basic_info") / "companies_vnallshare.csv"
TRADE_CENTERS = {1: "HOSE", 2: "HNX", 9: "UPCOM"}
OPENED = {"HOSE": date(2000, 7, 28), "HNX": date(2005, 7, 14), "UPCOM": date(2009, 6, 24)}
CHANGE_COST = 5.0
# After 25 sessions without trading the exchange applies the first-day band (VN_MARKET.md).
LONG_GAP_SESSIONS = 25
_FLAT_TICK = 100
_HOSE, _HNX, _UPCOM = (EXCHANGES.index(b) for b in ("HOSE", "HNX", "UPCOM"))
# Tie-breaks, far below one contradicted day over any history: current board, then HNX, HOSE, UPCoM.
_PREFERENCE = np.array([2e-7, 1e-7, 3e-7])[[EXCHANGES.index(b) for b in ("HOSE", "HNX", "UPCOM")]]


def read_companies(directory: Path) -> pd.DataFrame:
    """``symbol, board, sector`` from the vendor's company list; board None when on no exchange today."""
    path = directory / COMPANIES_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path}: the CafeF company list (today's board and sector of each symbol)")
    raw = pd.read_csv(path, encoding="utf-8-sig", dtype={"Symbol": str})
    missing = {"Symbol", "TradeCenterId", "CategoryName"} - set(raw.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {sorted(missing)}")
    return pd.DataFrame(
        {
            "symbol": raw["Symbol"].str.strip(),
            "board": raw["TradeCenterId"].map(TRADE_CENTERS),
            "sector": raw["CategoryName"].where(raw["CategoryName"].notna(), None),
        }
    ).drop_duplicates("symbol")


def listings_from_prices(prices: pd.DataFrame, companies: pd.DataFrame, actions: pd.DataFrame) -> pd.DataFrame:
    """One listing row per price row (``read_cafef_prices`` layout, any number of symbols), in the
    ``market.listings`` layout plus ``exchange_inferred``. ``actions``: the corporate actions (ex-date as
    ``trading_date``, ``reference_before``/``reference_after``) whose factor cuts the reference."""
    bars = prices.sort_values(["symbol", "trading_date"], kind="stable").reset_index(drop=True)
    session = _sessions(bars["trading_date"])
    new_symbol = bars["symbol"].ne(bars["symbol"].shift()).to_numpy()
    first_day = new_symbol | (_sessions_without_trade(bars, session, new_symbol) >= LONG_GAP_SESSIONS)
    factor = _action_factor(bars, actions)
    known = companies.set_index("symbol")
    current = bars["symbol"].map(known["board"]).to_numpy(dtype=object)
    board, inferred = _boards(bars, current, first_day | (factor != 1.0))
    # The first session on a new board is a listing day there: the first-day band applies.
    first_day |= ~new_symbol & (board != np.roll(board, 1))
    reference = _reference(bars, board, factor, new_symbol)
    floor, ceiling = price_limits_array(np.asarray(EXCHANGES, dtype=object)[board], reference, first_day)
    out = pd.DataFrame(
        {
            "trading_date": bars["trading_date"],
            "symbol": bars["symbol"],
            "exchange": np.asarray(EXCHANGES, dtype=object)[board],
            "instrument_type": "stock",
            "sector": bars["symbol"].map(known["sector"]),
            "reference_price": reference,
            "ceiling_price": ceiling,
            "floor_price": floor,
            "first_day": first_day,
            "shares_outstanding": None,
            "foreign_limit": None,
            "exchange_inferred": inferred,
        }
    )
    return out[[*columns.LISTINGS, "exchange_inferred"]]


def _sessions(days: pd.Series) -> np.ndarray:
    """Position of each day in the trading calendar (a day the exchange was closed counts as the one before)."""
    calendar = np.array(trading_days(min(days), max(days)), dtype="datetime64[D]")
    return np.searchsorted(calendar, days.to_numpy(dtype="datetime64[D]"), side="right")


def _sessions_without_trade(bars: pd.DataFrame, session: np.ndarray, new_symbol: np.ndarray) -> np.ndarray:
    """Per bar, the sessions since the symbol's previous matched trade, not counting the day itself: a gap in the
    rows and the vendor's zero-volume rows of a halt alike (BWA traded nothing from 2013-03 until 05-28, then
    at −40%: the first-day band of a long halt)."""
    traded = np.where(bars["volume"].to_numpy() > 0, session, -1)
    last = pd.Series(traded).where(traded >= 0).groupby(bars["symbol"].to_numpy()).shift(1)
    last = last.groupby(bars["symbol"].to_numpy()).ffill().to_numpy()
    # no earlier trade: count from the symbol's first row
    first = pd.Series(session).groupby(bars["symbol"].to_numpy()).transform("min").to_numpy()
    return session - np.where(np.isnan(last), first, last) - 1


def _action_factor(bars: pd.DataFrame, actions: pd.DataFrame) -> np.ndarray:
    """Per bar, the product of reference_after / reference_before of the symbol's actions that day (else 1)."""
    if actions is None or actions.empty:
        return np.ones(len(bars))
    cut = actions["reference_after"].astype(float) / actions["reference_before"].astype(float)
    per_day = cut.groupby([actions["trading_date"], actions["symbol"]]).prod()
    keys = pd.MultiIndex.from_arrays([bars["trading_date"], bars["symbol"]])
    return per_day.reindex(keys).fillna(1.0).to_numpy()


def _allowed(bars: pd.DataFrame, no_band_evidence: np.ndarray) -> np.ndarray:
    """(n, 3) bool: which boards each day's prices allow (the module docstring's evidence)."""
    n = len(bars)
    allowed = np.ones((n, 3), dtype=bool)
    ohlc = bars[["open", "high", "low", "close"]].to_numpy(np.int64)
    off_grid = (ohlc % _FLAT_TICK != 0).any(axis=1)
    allowed[off_grid, _HNX] = False
    allowed[off_grid, _UPCOM] = False
    close = bars["close"].to_numpy(np.int64)
    previous = np.roll(close, 1)
    banded = ~no_band_evidence
    for board in (_HOSE, _HNX):
        exchange = np.full(n, EXCHANGES[board], dtype=object)
        floor, ceiling = price_limits_array(exchange, np.where(banded, previous, 1))
        allowed[banded & ((close > ceiling) | (close < floor)), board] = False
    day = bars["trading_date"].to_numpy()
    for board, opened in OPENED.items():
        allowed[day < opened, EXCHANGES.index(board)] = False
    return allowed


def _boards(bars: pd.DataFrame, current: np.ndarray, no_band_evidence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Board code per bar and whether it was inferred (any day before the symbol's final run on its current
    board, and every day of a symbol on no exchange today)."""
    allowed = _allowed(bars, no_band_evidence)
    day = bars["trading_date"].to_numpy()
    opened = np.array([day >= OPENED[b] for b in EXCHANGES]).T  # a board before it opened is impossible
    board = np.empty(len(bars), dtype=np.int64)
    inferred = np.ones(len(bars), dtype=bool)
    symbols = bars["symbol"].to_numpy()
    bounds = np.flatnonzero(np.r_[True, symbols[1:] != symbols[:-1], True])
    for lo, hi in pairwise(bounds):
        today = current[lo]
        target = EXCHANGES.index(today) if isinstance(today, str) else None
        board[lo:hi] = _late_changes(_viterbi(allowed[lo:hi], opened[lo:hi], target), allowed[lo:hi])
        if target is not None:
            final = hi - 1
            while final > lo and board[final - 1] == target:
                final -= 1
            if board[hi - 1] == target:
                inferred[final:hi] = False
    return board, inferred


def _viterbi(allowed: np.ndarray, opened: np.ndarray, target: int | None) -> np.ndarray:
    """The cheapest board path for one symbol's days (see the module docstring), solved on runs of days with
    the same evidence: a change of board inside a run never costs less than at its edge."""
    evidence = allowed.astype(np.int8) * 2 + opened.astype(np.int8)
    key = evidence @ np.array([1, 4, 16])
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    lengths = np.diff(np.r_[starts, len(key)])
    preference = _PREFERENCE.copy()
    if target is not None:
        preference[target] = 0.0
    run_cost = lengths[:, None] * (np.where(allowed[starts], 0.0, 1.0) + preference)
    run_cost[~opened[starts]] = np.inf
    n = len(starts)
    total = np.empty((n, 3))
    came_from = np.zeros((n, 3), dtype=np.int64)
    total[0] = run_cost[0]
    change = CHANGE_COST * (1.0 - np.eye(3))
    for i in range(1, n):
        options = total[i - 1][:, None] + change  # [from, to]
        came_from[i] = options.argmin(axis=0)
        total[i] = options[came_from[i], np.arange(3)] + run_cost[i]
    last = total[-1] + (0.0 if target is None else CHANGE_COST * (np.arange(3) != target))
    path = np.empty(n, dtype=np.int64)
    path[-1] = int(last.argmin())
    for i in range(n - 1, 0, -1):
        path[i - 1] = came_from[i, path[i]]
    return np.repeat(path, lengths)


def _late_changes(path: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Each change of board moved to the first day whose prices rule the old board out (ACB: HNX until its first
    HOSE-only price on 2020-12-09, not from the last HNX-only move months before): between the two the prices
    allow both, and the move is dated by the evidence for it."""
    path = path.copy()
    for i in np.flatnonzero(path[1:] != path[:-1]) + 1:
        old, end = path[i - 1], i
        while end < len(path) and path[end] == path[i] and allowed[end, old]:
            end += 1
        if end < len(path) and path[end] == path[i]:
            path[i:end] = old
    return path


def _reference(bars: pd.DataFrame, board: np.ndarray, factor: np.ndarray, first_row: np.ndarray) -> np.ndarray:
    """The exchange's reference price of each bar (see the module docstring), integer VND."""
    close = bars["close"].to_numpy(np.float64)
    volume = bars["volume"].to_numpy(np.float64)
    value = bars["value"].to_numpy(np.float64)
    low, high = bars["low"].to_numpy(np.float64), bars["high"].to_numpy(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        average = value / volume
    # A day without matched trades, or whose value does not fit its range, has no usable average: the close.
    average = np.where((volume > 0) & (average >= low) & (average <= high), average, close)
    base = np.where(board == _UPCOM, np.roll(average, 1), np.roll(close, 1)) * factor
    base = np.where(first_row, bars["open"].to_numpy(np.float64), base)
    tick = tick_sizes(np.asarray(EXCHANGES, dtype=object)[board], np.maximum(base, 1.0))
    return np.maximum(np.rint(base / tick) * tick, tick).astype(np.int64)
