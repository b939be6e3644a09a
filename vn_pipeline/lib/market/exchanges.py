"""Exchange rules: tick sizes, daily price limits, board lots (see ../shared/VN_MARKET.md).

All prices are integer VND. Band arithmetic is exact integer arithmetic on basis points: a float threshold
(``ret <= 0.07``) misclassifies ceilings such as ref 10,050 -> 10,750 (+6.97%), which is why this module
computes limit *prices* instead of limit returns.

Vectorized functions accept integer arrays, or float arrays holding whole VND (vendor prices in kVND x 1000
carry float noise, so floats are rounded to the nearest VND). Invalid inputs (NaN, <= 0) in the vectorized
band functions yield NaN instead of raising, so one bad vendor row cannot stop a whole market's pipeline.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

import numpy as np

EXCHANGES: tuple[str, str, str] = ("HOSE", "HNX", "UPCOM")
_CODE = {name: i for i, name in enumerate(EXCHANGES)}
# Spellings seen in vendor files; mapped to the canonical upper-case code.
_ALIASES = {"HSX": "HOSE", "HOSE": "HOSE", "HNX": "HNX", "UPCOM": "UPCOM"}

INSTRUMENT_TYPES = ("stock", "etf", "cw")

# Public float views (documentation / display). Computation uses the exact basis-point tables below.
BAND: Mapping[str, float] = {"HOSE": 0.07, "HNX": 0.10, "UPCOM": 0.15}
FIRST_DAY_BAND: Mapping[str, float] = {"HOSE": 0.20, "HNX": 0.30, "UPCOM": 0.40}
BAND_BP: Mapping[str, int] = {"HOSE": 700, "HNX": 1000, "UPCOM": 1500}
FIRST_DAY_BAND_BP: Mapping[str, int] = {"HOSE": 2000, "HNX": 3000, "UPCOM": 4000}
_BP_DENOM = 10_000

# HOSE stock tick regimes: price < 10,000 -> 10; < 50,000 -> 50; else 100. Both boundaries are multiples of
# every tick, so flooring/ceiling a price on its own region's grid never leaves the grid of the region it
# lands in (9,995 -> 9,990 or 10,000; 49,990 -> 49,950 or 50,000): rounding is a single modulo operation.
_HOSE_TICK_BOUNDS = (10_000, 50_000)
_HOSE_TICKS = (10, 50, 100)
_FLAT_TICK = 100  # HNX and UPCoM stocks
_HOSE_FUND_TICK = 10  # HOSE ETFs and covered warrants

BOARD_LOT = 100
HOSE_BOARD_LOT_BEFORE_2021 = 10
HOSE_BOARD_LOT_CHANGE = dt.date(2021, 1, 4)
MAX_ORDER_SHARES_HOSE = 500_000


# Tickers are 3 letters; ETFs, covered warrants and futures run longer (E1VFVN30, CFPT2314, VN30F2412,
# 41I1G3000): anything else is not a symbol but a corrupt cell.
_SYMBOL = re.compile(r"[A-Z0-9]{3,12}")


def is_valid_symbol(symbol: object) -> bool:
    """A listed instrument's code: 3-12 upper-case letters or digits."""
    return isinstance(symbol, str) and _SYMBOL.fullmatch(symbol) is not None


def normalize_exchange(exchange: str) -> str:
    """Canonical exchange code ("HOSE", "HNX", "UPCOM"); accepts case variants and "HSX"."""
    key = str(exchange).strip().upper()
    if key not in _ALIASES:
        raise ValueError(f"unknown exchange {exchange!r}; expected one of {EXCHANGES}")
    return _ALIASES[key]


# --------------------------------------------------------------------------------------------- scalar


def tick_size(exchange: str, price: int, instrument_type: str = "stock") -> int:
    """Tick size in VND for an order at `price` on `exchange` (current regime; see VN_MARKET.md)."""
    ex = normalize_exchange(exchange)
    if instrument_type not in INSTRUMENT_TYPES:
        raise ValueError(f"unknown instrument_type {instrument_type!r}; expected one of {INSTRUMENT_TYPES}")
    if price <= 0:
        raise ValueError(f"price must be positive, got {price}")
    if ex == "HOSE":
        if instrument_type != "stock":
            return _HOSE_FUND_TICK
        if price < _HOSE_TICK_BOUNDS[0]:
            return _HOSE_TICKS[0]
        if price < _HOSE_TICK_BOUNDS[1]:
            return _HOSE_TICKS[1]
        return _HOSE_TICKS[2]
    if instrument_type != "stock":
        # VN_MARKET.md documents ETF/CW ticks for HOSE only; refuse rather than guess.
        raise ValueError(f"tick size for {instrument_type!r} on {ex} is not documented")
    return _FLAT_TICK


def round_down_to_tick(exchange: str, price: int, instrument_type: str = "stock") -> int:
    """Largest on-grid price <= `price` (uses the tick of the price's own region)."""
    price = int(price)
    return price - price % tick_size(exchange, price, instrument_type)


def round_up_to_tick(exchange: str, price: int, instrument_type: str = "stock") -> int:
    """Smallest on-grid price >= `price`."""
    price = int(price)
    return price + (-price) % tick_size(exchange, price, instrument_type)


def is_on_tick(exchange: str, price: int, instrument_type: str = "stock") -> bool:
    return price > 0 and price % tick_size(exchange, price, instrument_type) == 0


def _band_bp(exchange: str, first_day: bool) -> int:
    return (FIRST_DAY_BAND_BP if first_day else BAND_BP)[exchange]


def price_limits(
    exchange: str, reference: int, first_day: bool = False, instrument_type: str = "stock"
) -> tuple[int, int]:
    """(floor, ceiling) for a day with reference price `reference` (integer VND).

    Ceiling = ref x (1 + band) rounded down to the tick, floor = ref x (1 - band) rounded up (Decision
    352/QD-SGDHCM art. 9). Both are at least one tick from the reference: low-priced stocks whose band is
    narrower than a tick still move one tick (UPCoM 600 -> 700 / 500). The floor never drops below the
    smallest positive price on the grid (a 100 VND UPCoM stock cannot fall to 0).
    """
    ex = normalize_exchange(exchange)
    ref = int(reference)
    if ref <= 0:
        raise ValueError(f"reference must be positive, got {reference}")
    bp = _band_bp(ex, first_day)
    raw_ceiling = ref * (_BP_DENOM + bp) // _BP_DENOM  # floor of the exact rational; grid is integer
    raw_floor = -(-ref * (_BP_DENOM - bp) // _BP_DENOM)  # ceil of the exact rational
    ceiling = round_down_to_tick(ex, raw_ceiling, instrument_type)
    floor = round_up_to_tick(ex, raw_floor, instrument_type) if raw_floor > 0 else 0
    # One-tick minimum: next grid price strictly above / below the reference.
    ceiling = max(ceiling, round_up_to_tick(ex, ref + 1, instrument_type))
    if ref > 1:
        floor = min(floor, round_down_to_tick(ex, ref - 1, instrument_type))
    floor = max(floor, tick_size(ex, 1, instrument_type))
    return floor, ceiling


def board_lot(exchange: str, on: dt.date) -> int:
    """Even-lot size in shares: 100, except HOSE before 2021-01-04 (10)."""
    ex = normalize_exchange(exchange)
    if ex == "HOSE" and on < HOSE_BOARD_LOT_CHANGE:
        return HOSE_BOARD_LOT_BEFORE_2021
    return BOARD_LOT


def is_odd_lot(volume: int | np.ndarray, exchange: str, on: dt.date) -> bool | np.ndarray:
    """True for 1 .. board_lot-1 shares (odd-lot board quantities). Works on scalars or arrays."""
    lot = board_lot(exchange, on)
    if isinstance(volume, np.ndarray):
        return (volume >= 1) & (volume < lot)
    return 1 <= volume < lot


# ----------------------------------------------------------------------------------------- vectorized


def exchange_codes(exchange: np.ndarray | str) -> np.ndarray:
    """int8 codes (index into EXCHANGES) for an array of exchange names; raises on unknown names.

    Equality against the three canonical names is the fast path (cheap even on millions of object cells);
    only leftover spellings go through the slower per-unique-value normalization.
    """
    arr = np.asarray(exchange)
    codes = np.full(arr.shape, -1, dtype=np.int8)
    for name, code in _CODE.items():
        codes[arr == name] = code
    left = codes < 0
    if left.any():
        for value in np.unique(arr[left].astype(str)):
            codes[left & (arr == value)] = _CODE[normalize_exchange(value)]
    return codes


# Tick lookup table indexed by code * 3 + price region (0: < 10,000, 1: < 50,000, 2: >= 50,000). A table
# lookup is several times faster than nested np.where on multi-million-cell frames.
_TICK_TABLE = np.array(
    [t for ex in EXCHANGES for t in (_HOSE_TICKS if ex == "HOSE" else (_FLAT_TICK,) * 3)], dtype=np.int64
)


def _tick_from_codes(codes: np.ndarray, price: np.ndarray) -> np.ndarray:
    region = (price >= _HOSE_TICK_BOUNDS[0]).astype(np.int8) + (price >= _HOSE_TICK_BOUNDS[1])
    return _TICK_TABLE[codes * np.int8(3) + region]


def _as_vnd(price: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(int64 prices, valid mask). Floats are rounded to whole VND; NaN and <= 0 are invalid."""
    arr = np.asarray(price)
    if arr.dtype.kind in "iu":
        ints = arr.astype(np.int64)
        return ints, ints > 0
    arr = arr.astype(np.float64)
    valid = np.isfinite(arr) & (arr > 0)
    ints = np.where(valid, np.rint(np.where(valid, arr, 1.0)), 1.0).astype(np.int64)
    return ints, valid & (ints > 0)


def tick_sizes(exchange: np.ndarray, price: np.ndarray) -> np.ndarray:
    """Vectorized stock tick size (int64); broadcasts exchange against price."""
    codes = exchange_codes(exchange)
    ints, _ = _as_vnd(price)
    return _tick_from_codes(codes, ints)


def round_down_to_tick_array(exchange: np.ndarray, price: np.ndarray) -> np.ndarray:
    codes = exchange_codes(exchange)
    ints, _ = _as_vnd(price)
    return ints - ints % _tick_from_codes(codes, ints)


def round_up_to_tick_array(exchange: np.ndarray, price: np.ndarray) -> np.ndarray:
    codes = exchange_codes(exchange)
    ints, _ = _as_vnd(price)
    return ints + (-ints) % _tick_from_codes(codes, ints)


def on_tick_grid(exchange: np.ndarray, price: np.ndarray) -> np.ndarray:
    """Boolean array: price is a positive whole-VND multiple of its stock tick. NaN -> False."""
    codes = exchange_codes(exchange)
    arr = np.asarray(price)
    ints, valid = _as_vnd(arr)
    if arr.dtype.kind == "f":
        # kVND x 1000 floats carry representation noise; anything further from whole VND is off-grid.
        valid = valid & (np.abs(np.where(valid, arr, 0.0) - ints) < 1e-6)
    return valid & (ints % _tick_from_codes(codes, ints) == 0)


def price_limits_array(
    exchange: np.ndarray, reference: np.ndarray, first_day: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorized stock `price_limits`: (floor, ceiling) arrays, identical to the scalar rule.

    Inputs broadcast (e.g. exchange per symbol of shape (n_symbols,) against references of shape
    (n_days, n_symbols)). Output is int64 when every reference is valid, else float64 with NaN at invalid
    references (NaN or <= 0).
    """
    codes = exchange_codes(exchange)
    ref, valid = _as_vnd(reference)
    normal = np.array([BAND_BP[e] for e in EXCHANGES], dtype=np.int64)
    first = np.array([FIRST_DAY_BAND_BP[e] for e in EXCHANGES], dtype=np.int64)
    bp = normal[codes]
    if first_day is not None:
        bp = np.where(np.asarray(first_day, dtype=bool), first[codes], bp)
    shape = np.broadcast_shapes(codes.shape, ref.shape, bp.shape)
    if ref.shape != shape:
        ref, valid = np.broadcast_to(ref, shape).copy(), np.broadcast_to(valid, shape)
    if not valid.all():
        ref = np.where(valid, ref, 1)  # placeholder keeps the arithmetic total; masked out at the end

    # Plain broadcasting (exchange/bp per column) rather than materialized broadcast views keeps this fast.
    raw_ceiling = ref * (_BP_DENOM + bp) // _BP_DENOM
    raw_floor = -(-ref * (_BP_DENOM - bp) // _BP_DENOM)
    ceiling = raw_ceiling - raw_ceiling % _tick_from_codes(codes, raw_ceiling)
    floor = raw_floor + (-raw_floor) % _tick_from_codes(codes, raw_floor)  # raw_floor >= 1 as band < 100%

    # One-tick minimum: only low-priced references can hit it, so fix up that (small) subset only, with
    # the same rule as the scalar path: next grid price strictly above / below the reference.
    fix = (ceiling <= ref) | (floor >= ref)
    if fix.any():
        fcodes = np.broadcast_to(codes, shape)[fix]
        fref = ref[fix]
        above = fref + 1
        ceiling[fix] = np.maximum(ceiling[fix], above + (-above) % _tick_from_codes(fcodes, above))
        below = np.maximum(fref - 1, 1)
        below_on_grid = below - below % _tick_from_codes(fcodes, below)
        ffloor = np.where(fref > 1, np.minimum(floor[fix], below_on_grid), floor[fix])
        floor[fix] = np.maximum(ffloor, _TICK_TABLE[fcodes * 3])  # never below the smallest grid price

    if valid.all():
        return floor, ceiling
    nan = np.nan
    return np.where(valid, floor, nan), np.where(valid, ceiling, nan)
