"""A practitioner's risk overlay on target weights: volatility targeting, a VN30 regime filter, a drawdown stop, and
position and sector caps, each off or on.

The overlay takes a book's decisions (dates × symbols, in the runner's convention: an all-NaN row is no decision, a
NaN inside a decision row keeps the name's shares) and returns decisions of the same kind for a book that holds the
same names, scaled and capped. It walks the days in order and decides day D from data up to D's close only: the
returns of D, VN30's close of D, the sectors listed on D, the base book's decisions up to D. Nothing after D is read,
so a backtest of the overlaid book trades on D+1 what was knowable on D (tested by perturbing the future).

Two books are followed day by day, both as weights of their own equity drifting with prices (cash earns nothing):
the *base* book (what the strategy would hold without the overlay) and the *overlaid* book (what the overlay asked
for). Lots, costs and blocked trades make the engine's real holdings differ a little from these plans; the plan is
what the overlay knows without reading the engine's results, and the differences stay inside the trade band.

- Volatility targeting: the base book's ex-ante volatility is the standard deviation of its current weights applied
  to the trailing ``vol_lookback`` days of returns (historical simulation, annualised); exposure is scaled by
  target / estimate. The scale never exceeds 1, and gross exposure never exceeds ``max_gross`` (1: no margin for
  retail in Vietnam), so the overlay only ever takes risk off.
- Regime filter: when VN30 closes below its ``regime_ma_days``-day moving average the book goes to
  ``regime_off_exposure`` (0: cash); it returns once VN30 closes above the average by ``regime_band`` (hysteresis,
  so a close hovering on the average does not trade in and out every day). Before the average has its full window
  there is no regime to judge and the filter lets the book trade.
- Drawdown stop: when the base book falls ``drawdown_limit`` below its peak the book goes to
  ``drawdown_off_exposure``; it returns once the base book has risen ``drawdown_reentry`` above its trough since the
  stop, and the peak restarts there. The base book, not the overlaid one, is watched: a book in cash has no
  drawdown to recover from, so it could never re-enter.
- Caps: no name above ``max_name_weight``, no sector above ``max_sector_weight`` (names scaled down in proportion).
  What a cap removes goes to cash, not to other names: giving it away would raise the risk the caps are meant to
  bound and could push another name or sector over its own cap. A name without a known sector is a sector of its
  own (else every unclassified name would share one cap).
- Trading: a decision is emitted on the base book's decision days, when gross exposure is off its target by more
  than ``rebalance_band``, when a name must be sold out, or when drift has taken a name or sector past its cap by
  more than ``min_trade``. In a decision, a name whose target moves by less than ``min_trade`` keeps its shares, so
  a daily volatility estimate does not trade a lot of every name every day.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from vn_pipeline.lib.backtest.inputs import vn30_levels
from vn_pipeline.lib.market.calendar import previous_trading_day
from vn_pipeline.lib.warehouse.reads import read_partition

TRADING_DAYS_PER_YEAR = 252
EXPOSURE_COLUMNS = [
    "vol_estimate", "vol_scale", "regime_on", "drawdown_on", "multiplier", "target_gross", "planned_gross", "decision",
]  # fmt: skip
_EPS = 1e-12


@dataclass(frozen=True)
class Overlay:
    """Each rule is off when its parameter is None. The defaults are what the demo's ``topk_overlay`` book uses."""

    target_vol: float | None = 0.20  # annualised; about VN30's own volatility
    vol_lookback: int = 60  # trading days of returns behind the volatility estimate
    vol_min_days: int = 20  # fewer days of history than this: no estimate, no scaling
    regime_ma_days: int | None = 200
    regime_band: float = 0.02  # a close hovering on the average would otherwise trade in and out every few days
    regime_off_exposure: float = 0.0
    drawdown_limit: float | None = None  # e.g. 0.15
    drawdown_reentry: float = 0.05
    drawdown_off_exposure: float = 0.0
    max_name_weight: float | None = 0.15
    max_sector_weight: float | None = 0.35
    max_gross: float = 1.0
    rebalance_band: float = 0.10
    min_trade: float = 0.01

    def __post_init__(self) -> None:
        positive = {"target_vol": self.target_vol, "max_name_weight": self.max_name_weight,
                    "max_sector_weight": self.max_sector_weight, "drawdown_limit": self.drawdown_limit}  # fmt: skip
        bad = [name for name, value in positive.items() if value is not None and not value > 0]
        if self.regime_ma_days is not None and self.regime_ma_days < 1:
            bad.append("regime_ma_days")
        if self.vol_lookback < 2 or not 2 <= self.vol_min_days <= self.vol_lookback:
            bad.append("vol_lookback/vol_min_days")
        if not 0 < self.max_gross <= 1:
            bad.append("max_gross (no margin: at most 1)")
        for name in ("regime_off_exposure", "drawdown_off_exposure"):
            if not 0 <= getattr(self, name) <= 1:
                bad.append(name)
        if min(self.regime_band, self.drawdown_reentry, self.rebalance_band, self.min_trade) < 0:
            bad.append("bands")
        if bad:
            raise ValueError(f"invalid overlay parameters: {', '.join(bad)}")

    @property
    def index_history_days(self) -> int:
        """Trading days of VN30 before the first decision the regime filter needs."""
        return self.regime_ma_days or 0


@dataclass
class OverlayResult:
    weights: pd.DataFrame  # the overlaid book's decisions, in the runner's convention
    exposure: pd.DataFrame = field(default_factory=pd.DataFrame)  # per day: EXPOSURE_COLUMNS


def cap_weights(
    weights: np.ndarray, sector_codes: np.ndarray, max_name: float | None, max_sector: float | None
) -> np.ndarray:
    """``weights`` with no name above ``max_name`` and no sector (codes >= 0; -1 = unknown, a sector of its own)
    above ``max_sector``, the excess left in cash. Names are capped first: the sector scaling only shrinks names,
    so it cannot undo the name cap."""
    w = np.asarray(weights, dtype=float).copy()
    if max_name is not None:
        w = np.minimum(w, max_name)
    if max_sector is not None:
        known = sector_codes >= 0
        if known.any():
            sums = np.bincount(sector_codes[known], weights=w[known])
            factor = np.where(sums > max_sector, max_sector / np.where(sums > 0, sums, 1.0), 1.0)
            w[known] *= factor[sector_codes[known]]
    return w


def sector_sums(weights: np.ndarray, sector_codes: np.ndarray) -> np.ndarray:
    known = sector_codes >= 0
    return np.bincount(sector_codes[known], weights=weights[known]) if known.any() else np.zeros(0)


def regime_states(vn30: pd.Series, dates: pd.Index, ma_days: int, band: float) -> pd.Series:
    """True where the book may be invested: VN30 at or above its ``ma_days``-day average, with re-entry only above
    average × (1 + band) once off. ``vn30``: closes on VN30's own days (history before ``dates`` gives the average
    its window); on a day of ``dates`` VN30 did not print, its last close stands (nothing later is used)."""
    closes = vn30.dropna().sort_index()
    average = closes.rolling(ma_days, min_periods=ma_days).mean()
    frame = pd.DataFrame({"close": closes, "average": average})
    # As of each date: the last print on or before it (a reindex with ffill over the union, never a bfill).
    frame = frame.reindex(frame.index.union(dates)).ffill().reindex(dates)
    if frame["close"].isna().all():  # e.g. dates of another type than VN30's: the filter would never act
        raise ValueError("no VN30 close on or before any decision day: the regime filter cannot judge")
    on, states = True, []
    for close, avg in zip(frame["close"], frame["average"], strict=True):
        if not math.isnan(avg):
            on = close >= avg * (1.0 + band) if not on else close >= avg
        states.append(on)
    return pd.Series(states, index=dates, name="regime_on")


def sector_codes_panel(sectors: pd.DataFrame | None, like: pd.DataFrame) -> np.ndarray:
    """Integer sector codes on the axes of ``like`` (-1: unknown), each day the last sector listed on or before it."""
    if sectors is None:
        return np.full(like.shape, -1, dtype=np.int64)
    panel = sectors.reindex(columns=like.columns)
    panel = panel.reindex(panel.index.union(like.index)).ffill().reindex(like.index)
    codes, _ = pd.factorize(panel.to_numpy().ravel())
    return codes.reshape(like.shape).astype(np.int64)


def apply_overlay(
    weights: pd.DataFrame,
    returns: pd.DataFrame,
    overlay: Overlay,
    vn30: pd.Series | None = None,
    sectors: pd.DataFrame | None = None,
) -> OverlayResult:
    """The overlaid book's decisions on the axes of ``weights`` (see the module's docstring for the rules).

    ``returns``: daily close-to-close returns (NaN: no trade, counted as 0) on a calendar whose tail is
    ``weights.index``, with the history before it the volatility estimate reads. ``vn30``: VN30 closes, needed
    when the regime filter is on. ``sectors``: the listed sector of each (date, symbol)."""
    dates, symbols = weights.index, weights.columns
    rows = returns.index.get_indexer(dates)
    if len(dates) == 0:
        return OverlayResult(weights.copy(), pd.DataFrame(columns=EXPOSURE_COLUMNS))
    if (rows < 0).any() or not (np.diff(rows) == 1).all():
        raise ValueError("returns must cover every date of weights, on the same consecutive trading days")
    r_all = returns.reindex(columns=symbols).to_numpy(dtype=float)
    r_all = np.where(np.isfinite(r_all), r_all, 0.0)
    w_in = weights.to_numpy(dtype=float)
    codes = sector_codes_panel(sectors, weights)
    if overlay.regime_ma_days is not None:
        if vn30 is None or vn30.dropna().empty:
            raise ValueError("the regime filter needs VN30 closes: pass vn30, or switch the filter off")
        regime = regime_states(vn30, dates, overlay.regime_ma_days, overlay.regime_band).to_numpy()
    else:
        regime = np.ones(len(dates), dtype=bool)

    n, m = w_in.shape
    out = np.full((n, m), np.nan)
    stats = np.full((n, len(EXPOSURE_COLUMNS)), np.nan)
    base = np.zeros(m)  # the base book's weights of its own equity
    held = np.zeros(m)  # the overlaid book's planned weights
    shadow, peak, trough, dd_on = 1.0, 1.0, 1.0, True
    for t in range(n):
        r = r_all[rows[t]]
        growth = base @ r
        shadow *= 1.0 + growth
        base = _drift(base, r, growth)
        held = _drift(held, r, held @ r)
        decided = np.isfinite(w_in[t])
        base = np.where(decided, w_in[t], base)

        if overlay.drawdown_limit is not None:
            if dd_on:
                peak = max(peak, shadow)
                if shadow <= peak * (1.0 - overlay.drawdown_limit):
                    dd_on, trough = False, shadow
            else:
                trough = min(trough, shadow)
                if shadow >= trough * (1.0 + overlay.drawdown_reentry):
                    dd_on, peak = True, shadow
        vol, scale = _vol_scale(base, r_all[max(0, rows[t] - overlay.vol_lookback + 1) : rows[t] + 1], overlay)
        multiplier = scale * (1.0 if regime[t] else overlay.regime_off_exposure)
        multiplier *= 1.0 if dd_on else overlay.drawdown_off_exposure
        gross = base.sum()
        if gross * multiplier > overlay.max_gross:
            multiplier = overlay.max_gross / gross
        desired = cap_weights(base * multiplier, codes[t], overlay.max_name_weight, overlay.max_sector_weight)

        emit = decided.any() or _needs_trade(desired, held, codes[t], overlay)
        if emit:
            row = _decision(desired, held, overlay)
            out[t] = row
            held = np.where(np.isfinite(row), row, held)
        stats[t] = [vol, scale, regime[t], dd_on, multiplier, desired.sum(), held.sum(), emit]

    exposure = pd.DataFrame(stats, index=dates, columns=EXPOSURE_COLUMNS)
    for flag in ("regime_on", "drawdown_on", "decision"):
        exposure[flag] = exposure[flag].astype(bool)
    return OverlayResult(pd.DataFrame(out, index=dates, columns=symbols), exposure)


def _drift(w: np.ndarray, r: np.ndarray, growth: float) -> np.ndarray:
    """Weights of equity after a day's returns ``r`` (the book's own return ``growth``; cash earns nothing)."""
    if not w.any() or 1.0 + growth <= 0:
        return w
    return w * (1.0 + r) / (1.0 + growth)


def _vol_scale(base: np.ndarray, window: np.ndarray, overlay: Overlay) -> tuple[float, float]:
    """(the base book's annualised ex-ante volatility, the exposure scale that brings it to the target)."""
    if overlay.target_vol is None or len(window) < overlay.vol_min_days or not base.any():
        return math.nan, 1.0
    vol = float(np.std(window @ base, ddof=1)) * math.sqrt(TRADING_DAYS_PER_YEAR)
    return vol, (1.0 if vol <= _EPS else min(1.0, overlay.target_vol / vol))


def _needs_trade(desired: np.ndarray, held: np.ndarray, codes: np.ndarray, overlay: Overlay) -> bool:
    if abs(desired.sum() - held.sum()) > overlay.rebalance_band:
        return True
    if ((desired <= 0) & (held > 0)).any():  # a name to sell out (regime off, drawdown stop, exposure 0)
        return True
    slack = overlay.min_trade
    if overlay.max_name_weight is not None and (held > overlay.max_name_weight + slack).any():
        return True
    return overlay.max_sector_weight is not None and bool(
        (sector_sums(held, codes) > overlay.max_sector_weight + slack).any()
    )


def _decision(desired: np.ndarray, held: np.ndarray, overlay: Overlay) -> np.ndarray:
    """Targets for the names in either book: exits always, other names only where the target moves by at least
    ``min_trade`` (NaN: keep the shares). Where keeping would leave the planned book above ``max_gross``, every name
    is given its target."""
    in_book = (held > 0) | (desired > 0)
    trade = in_book & ((np.abs(desired - held) >= overlay.min_trade) | (desired <= 0))
    row = np.where(trade, desired, np.nan)
    if np.where(np.isfinite(row), row, held).sum() > overlay.max_gross + _EPS:
        row = np.where(in_book, desired, np.nan)
    return row


def overlay_inputs(conn: psycopg.Connection[Any], start: date, end: date, overlay: Overlay) -> dict[str, Any]:
    """What :func:`apply_overlay` reads besides the book and its returns, for decisions in [start, end]: VN30's
    closes from the regime average's window before ``start`` on, and each day's listed sector of every symbol."""
    inputs: dict[str, Any] = {"vn30": None, "sectors": None}
    if overlay.regime_ma_days is not None:
        inputs["vn30"] = vn30_levels(conn, previous_trading_day(start, overlay.index_history_days), end)
    if overlay.max_sector_weight is not None:
        listed = read_partition(conn, "market.listings", start, end, columns=["trading_date", "symbol", "sector"])
        inputs["sectors"] = listed.pivot(index="trading_date", columns="symbol", values="sector").sort_index()
    return inputs
