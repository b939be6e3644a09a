"""The simulated Vietnamese stock market: the embedded default data source of vn_pipeline.

    sim = MarketSimulator(SimulatorConfig(seed=7, universe="full"))
    sim.listings(start, end); sim.daily_bars(start, end); sim.foreign_flows(start, end)
    sim.corporate_actions(start, end); sim.ticks(day, symbols=None)

Guarantees (tested in vn_pipeline_tests/unit/test_simulator*.py):
- deterministic for a seed, and point-in-time: day D depends only on the seed and days <= D, whatever window
  is requested (simulator.daily); ticks(D) depend only on (seed, D, symbol);
- every price on the exchange's tick grid and inside the day's [floor, ceiling]; volumes in board lots;
- ticks(D) aggregate exactly (open/high/low/close/volume/value) to daily_bars for D (simulator.intraday);
- no signal without planted effects: every symbol's daily log return is symmetric about 0 (no drift, no
  volatility-drag offset, no carry after limit days), so nothing predicts the cross-sectional rank of returns.

Planted effects (SimulatorConfig.alpha_effects, default none; defined in simulator.daily):
    SimulatorConfig(alpha_effects=(AlphaEffect("short_term_reversal", 0.1),
                                   AlphaEffect("foreign_flow_momentum", 0.1)))
- short_term_reversal: day D+1's return gets -strength x (symbol's idio vol) x z(past `lookback`=5-day return).
- foreign_flow_momentum: day D+1's return gets +strength x (idio vol) x z(net foreign buy ratio of day D).
Both are point-in-time (D+1 depends on data <= D; that is the planted signal) and go through the same
grid/band/limit-lock machinery as every other return. Without effects the output is bit-identical to the
effect-free simulator.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass
from functools import cache, lru_cache

import numpy as np
import pandas as pd

from vn_pipeline.lib.market.exchanges import EXCHANGES, price_limits_array
from vn_pipeline.lib.market.sessions import CONTINUOUS, SESSION_CODES, sessions
from vn_pipeline.lib.market.timezone import VN_TZ
from vn_pipeline.lib.sources.simulator import intraday
from vn_pipeline.lib.sources.simulator.daily import STREAM_TICKS, AlphaEffect, DailyPath, DayRecord
from vn_pipeline.lib.sources.simulator.universe import PUBLIC_COLUMNS, universe_frame
from vn_pipeline.lib.warehouse import columns

LISTING_COLUMNS = list(columns.LISTINGS)
BAR_COLUMNS = list(columns.DAILY_BARS)
FLOW_COLUMNS = list(columns.FOREIGN_FLOWS)
CA_COLUMNS = ["ex_date", "symbol", "kind", "ratio", "reference_before", "reference_after"]
TICK_COLUMNS = list(columns.RAW_TICKS)
TRADES_PER_LOT_SCALE = 3.5  # trades ~ 3.5 * (shares/100)^0.72: ~1.5 M trades on a full-market day


@dataclass(frozen=True)
class SimulatorConfig:
    seed: int = 7
    universe: str = "vn30"  # "vn30" or "full" (~1,600 symbols across HOSE/HNX/UPCOM)
    n_symbols: int | None = None  # optional cap (first n of the universe), for tests
    genesis: dt.date = dt.date(2019, 1, 2)  # path starts here; day D depends only on seed and days <= D
    # Planted, learnable effects for the ML stage (see the module docstring); each adjusts the daily return
    # inside DailyPath._step before prices are formed.
    alpha_effects: tuple[AlphaEffect, ...] = ()


@lru_cache(maxsize=8)
def _shared_path(
    seed: int, genesis: dt.date, universe: str, width: int, effects: tuple[AlphaEffect, ...] = ()
) -> tuple[DailyPath, threading.Lock]:
    """One lazily-extended path per configuration: instances with the same config share the work."""
    return DailyPath(universe_frame("full"), width, seed, genesis, effects), threading.Lock()


class MarketSimulator:
    """Simulated HOSE/HNX/UPCoM market; see the module docstring for the guarantees."""

    def __init__(self, config: SimulatorConfig = SimulatorConfig()) -> None:
        effects = tuple(config.alpha_effects)
        if not all(isinstance(e, AlphaEffect) for e in effects):
            raise TypeError(f"alpha_effects must be AlphaEffect instances, got {effects!r}")
        self.config = config
        frame = universe_frame(config.universe)
        if config.n_symbols is not None:
            if config.n_symbols < 1:
                raise ValueError(f"n_symbols must be >= 1, got {config.n_symbols}")
            frame = frame.iloc[: config.n_symbols]
        self._params = frame.reset_index(drop=True)
        self._path, self._lock = _shared_path(config.seed, config.genesis, config.universe, len(frame), effects)
        self._symbols = self._params["symbol"].to_numpy(dtype=object)
        self._exchange = self._params["exchange"].to_numpy(dtype=object)
        self._sector = self._params["sector"].to_numpy(dtype=object)
        self._foreign_limit = self._params["foreign_cap_pct"].to_numpy(dtype=float) / 100.0  # as DailyPath._cap
        self._col = {s: i for i, s in enumerate(self._symbols)}

    # --------------------------------------------------------------------------------------- frames

    def universe(self) -> pd.DataFrame:
        """symbol, exchange, instrument_type, sector, listed_on (date), foreign_cap_pct."""
        return self._params[PUBLIC_COLUMNS].copy()

    def _window(self, start: dt.date, end: dt.date) -> list[DayRecord]:
        with self._lock:
            return self._path.window(start, end)

    def _stack(self, recs: list[DayRecord], name: str) -> np.ndarray:
        return np.stack([getattr(r, name) for r in recs])

    def _base(self, recs: list[DayRecord], mask: np.ndarray) -> dict[str, np.ndarray]:
        """trading_date / symbol columns for the (day, symbol) cells selected by a (T, n) mask."""
        days = np.array([r.day for r in recs], dtype=object)
        rows, cols = np.nonzero(mask)
        return {"trading_date": days[rows], "symbol": self._symbols[cols]}

    def listings(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        """Every listed symbol on every trading day (traded or not), with reference and band, shares outstanding
        (after the day's stock dividend) and the foreign ownership limit as a fraction: foreign_flows' room of
        that day is floor(foreign_limit x shares_outstanding) - shares foreigners hold."""
        recs = self._window(start, end)
        if not recs:
            return pd.DataFrame(columns=LISTING_COLUMNS)
        mask = self._stack(recs, "listed")
        ref = self._stack(recs, "reference").astype(np.int64)
        first = self._stack(recs, "first_day")
        floor, ceil = price_limits_array(self._exchange, ref, first)
        out = self._base(recs, mask)
        cols = np.nonzero(mask)[1]
        out |= {
            "exchange": self._exchange[cols],
            "instrument_type": np.full(len(cols), "stock", dtype=object),
            "sector": self._sector[cols],
            "reference_price": ref[mask],
            "ceiling_price": ceil[mask].astype(np.int64),
            "floor_price": floor[mask].astype(np.int64),
            "first_day": first[mask],
            "shares_outstanding": self._stack(recs, "shares_outstanding")[mask],
            "foreign_limit": self._foreign_limit[cols],
        }
        return pd.DataFrame(out, columns=LISTING_COLUMNS)

    def daily_bars(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        """Vendor-style EOD bars; only symbols that traded that day. value is exact (ticks reproduce it)."""
        recs = self._window(start, end)
        if not recs:
            return pd.DataFrame(columns=BAR_COLUMNS)
        mask = self._stack(recs, "traded")
        out = self._base(recs, mask)
        for name in ("open", "high", "low", "close", "volume", "value"):
            out[name] = self._stack(recs, name)[mask].astype(np.int64)
        return pd.DataFrame(out, columns=BAR_COLUMNS)

    def foreign_flows(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        """Foreign buy/sell volumes and values (volume x a price within [low, high]) and remaining room."""
        recs = self._window(start, end)
        if not recs:
            return pd.DataFrame(columns=FLOW_COLUMNS)
        mask = self._stack(recs, "traded")
        out = self._base(recs, mask)
        buy = self._stack(recs, "f_buy")[mask]
        sell = self._stack(recs, "f_sell")[mask]
        out |= {
            "buy_volume": buy,
            "sell_volume": sell,
            "buy_value": buy * self._stack(recs, "f_buy_px")[mask].astype(np.int64),
            "sell_value": sell * self._stack(recs, "f_sell_px")[mask].astype(np.int64),
            "room_remaining": self._stack(recs, "room")[mask],
        }
        return pd.DataFrame(out, columns=FLOW_COLUMNS)

    def corporate_actions(self, start: dt.date, end: dt.date) -> pd.DataFrame:
        """Stock dividends by ex-date; reference_after is the ex-date reference (listings agree)."""
        rows = [
            (r.day, self._symbols[c], "stock_dividend", ratio, before, after)
            for r in self._window(start, end)
            for c, ratio, before, after in r.dividends
        ]
        frame = pd.DataFrame(rows, columns=CA_COLUMNS)
        return frame.astype({"ratio": float, "reference_before": np.int64, "reference_after": np.int64})

    # ---------------------------------------------------------------------------------------- ticks

    def ticks(self, day: dt.date, symbols: list[str] | None = None) -> pd.DataFrame:
        """All trades of `day` (optionally for some symbols), consistent exactly with daily_bars(day, day)."""
        recs = self._window(day, day)
        if not recs or recs[0].day != day:
            raise ValueError(f"{day} is not a trading day")
        rec = recs[0]
        if symbols is None:
            sel = np.arange(len(self._symbols))
        else:
            unknown = [s for s in symbols if s not in self._col]
            if unknown:
                raise ValueError(f"symbols not in the simulated universe: {unknown[:10]}")
            sel = np.array(sorted({self._col[s] for s in symbols}), dtype=np.int64)
        # Per-symbol seeds and trade counts drawn at full-universe width: a symbol's trades are the same
        # whichever other symbols are requested.
        rng = np.random.default_rng([self.config.seed, STREAM_TICKS, day.toordinal()])
        full = self._path.full_width
        noise = rng.standard_normal(full)[: len(self._symbols)]
        sel = sel[rec.traded[sel]]
        rngs = [np.random.default_rng([self.config.seed, STREAM_TICKS, day.toordinal(), int(i)]) for i in sel]
        return self._build_ticks(rec, sel, rngs, noise[sel])

    def _build_ticks(
        self, rec: DayRecord, sel: np.ndarray, rngs: list[np.random.Generator], noise: np.ndarray
    ) -> pd.DataFrame:
        lot = rec.lot[sel].astype(np.int64)
        vol = rec.volume[sel] // lot
        s_target = rec.value[sel] // lot
        o, h, lo, c = (getattr(rec, f)[sel].astype(np.int64) for f in ("open", "high", "low", "close"))
        # Trade count grows sub-linearly with volume (bigger names trade bigger clips); a locked or tiny
        # single-price day has only a handful of prints.
        shares100 = rec.volume[sel] / 100.0
        n_total = np.rint(TRADES_PER_LOT_SCALE * shares100**0.72 * np.exp(0.2 * noise)).astype(np.int64)
        single = h == lo
        n_total = np.where(single, np.clip(n_total // 20, 1, 40), np.maximum(n_total, 6))
        n_total = np.minimum(n_total, np.where(single, vol, vol // 4))  # >= 4 lots a trade on average
        minute_start, cdf = _intensity()
        tr = intraday.build_day(
            _codes(self._exchange[sel]), o, h, lo, c, vol, s_target, n_total, rngs, minute_start, cdf
        )
        counts = tr.counts
        base_ns = pd.Timestamp(rec.day).tz_localize(VN_TZ).value
        ts = pd.to_datetime(base_ns + tr.t * 1_000_000_000, utc=True).tz_convert(VN_TZ)
        volume = tr.lots * np.repeat(lot, counts)
        running = np.concatenate([[0], np.cumsum(volume)])
        frame = pd.DataFrame(
            {
                "ts": ts.astype(f"datetime64[ns, {VN_TZ.key}]"),
                "trading_date": np.full(len(tr.t), rec.day, dtype=object),
                "symbol": np.repeat(self._symbols[sel], counts),
                "seq": intraday.ranges(counts).astype(np.int32),
                "price": tr.price,
                "volume": volume,
                "side": _SIDES[tr.side],
                "session": _SESSIONS[tr.session],
                # the symbol's running total, as a vendor feed stamps each trade
                "cum_volume": running[1:] - np.repeat(running[np.cumsum(counts) - counts], counts),
            },
            columns=TICK_COLUMNS,
        )
        return frame


_SIDES = np.array([None, "B", "S"], dtype=object)
_SESSIONS = np.array(SESSION_CODES, dtype=object)  # indexed by intraday's SESS_* codes


def _codes(exchange: np.ndarray) -> np.ndarray:
    return (exchange == "HNX").astype(np.int64) + 2 * (exchange == "UPCOM")


@cache
def _intensity() -> tuple[np.ndarray, np.ndarray]:
    """Per exchange (row = code): continuous-minute start seconds and the CDF of a U-shaped intensity.

    Trading is busiest after the open and into the close, with a smaller burst after lunch; rows are padded
    to a common length (the CDF with 1.0, never selected past the real last minute).
    """
    starts: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    for ex in EXCHANGES:
        mins: list[int] = []
        w: list[float] = []
        cont = [s for s in sessions(ex) if s.matching == CONTINUOUS]
        for i, s in enumerate(cont):
            a = s.start.hour * 60 + s.start.minute
            b = s.end.hour * 60 + s.end.minute
            mins.extend(range(a, b))
            x = (np.arange(a, b) - a) / max(b - a - 1, 1)
            bump = 2.5 * np.exp(-x / 0.06) if i == 0 else 1.0 * np.exp(-x / 0.06)
            tail = 2.0 * np.exp(-(1 - x) / 0.06) if i == len(cont) - 1 else 0.5 * np.exp(-(1 - x) / 0.06)
            w.extend(1.0 + bump + tail)
        starts.append(np.array(mins, dtype=np.int64) * 60)
        weights.append(np.array(w))
    width = max(len(s) for s in starts)
    ms = np.zeros((len(EXCHANGES), width), dtype=np.int64)
    cdf = np.ones((len(EXCHANGES), width))
    for i, (s, w) in enumerate(zip(starts, weights, strict=True)):
        ms[i, : len(s)] = s
        ms[i, len(s) :] = s[-1]
        c = np.cumsum(w)
        cdf[i, : len(s)] = c / c[-1]
    return ms, cdf
