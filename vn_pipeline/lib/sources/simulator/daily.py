"""Daily path of the simulated market: references, bands, OHLC, volume, value, dividends, foreign flows.

Point-in-time by construction: day D's random draws come from a generator seeded by (seed, D.toordinal())
and its state only from days < D, so extending the path later never changes earlier days. Draws are always
made at the width of the "full" universe and sliced, so every universe / n_symbols cap is an exact prefix of
the full market (VN30 prices are the same whichever universe you ask for).

Value design (see simulator.intraday): the daily bar fixes O/H/L/C, volume V (lots) and value = lot * S with
S = V*L + tick(L)*k, i.e. value is chosen here, cheaply, on the lattice that tick-level trades can reach
exactly; ticks() then constructs trades that hit it to the VND.

No signal without planted effects: every symbol's daily log return is symmetric about 0 (market, sector and
idiosyncratic GARCH shocks with symmetric innovations, symmetric news jumps), with no per-symbol drift, no
volatility-drag offset (+0.5 x variance gave volatile names a higher median return, which a tree model
learned: Rank IC up to 0.03, t up to ~3.9 with effects off) and no market drift (it would reward beta).
Two more leaks are closed: a limit day's unfilled move is dropped, not carried into the next day (the carry
made "closed at the ceiling" a t~19 predictor of the next return), and the VWAP, hence the UPCoM reference,
is centred on the mean log price (an arithmetic mean of O/H/L/C sits ~0.1 x variance above it, a small
volatility drift for UPCoM). Rounding to the tick grid stays nearest-price: measured neutral (a random,
log-unbiased rounding was tried and made low-priced names rise in rank). Measured on 400 names, 2019-2024
(seeds 1, 3, 4, 7, 13; volatility, exchange and price level also on 2, 5, 11): Rank IC of volatility, beta,
exchange, price level, relative tick, 1/5/20-day returns and limit-day flags against the 3-day label are
all noise (|t| mostly < 2, signs varying across seeds).

Planted effects (AlphaEffect, off by default): small, documented, learnable predictability added to the daily
return before prices are formed, so the ML stage has something real to find and tests can check it does.
Each effect on day D+1 is a function of the path up to D only (that IS the signal; nothing looks ahead).
z-scores are per symbol (time-series standardised by the symbol's own volatility), not cross-sectional:
a cross-sectional z would make a symbol's path depend on which other symbols are simulated and break the
"every universe is a prefix of full" guarantee. The learner still sees it cross-sectionally (rank IC).
- short_term_reversal(strength, lookback=5): r[D+1] += -strength * sigma_i * z_i, z_i = (sum of the last
  `lookback` daily log returns up to D) / (sqrt(lookback) * total_sigma_i), clipped to +-3.
- foreign_flow_momentum(strength): r[D+1] += +strength * sigma_i * z_i, z_i = net foreign buy ratio of D
  ((buy - sell) / volume) divided by an EWMA (halflife ~23 days) of its own square, clipped to +-3.
sigma_i is the symbol's unconditional idiosyncratic daily vol, so `strength` is roughly the one-day
information coefficient of the effect against idiosyncratic returns (0.1 = strong, real alphas are ~0.03).
With no effects, no extra state is touched and the output is bit-identical to the effect-free simulator.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from vn_pipeline.lib.market.calendar import OFFICIAL_THROUGH, trading_days
from vn_pipeline.lib.market.exchanges import board_lot, exchange_codes, price_limits_array
from vn_pipeline.lib.sources.simulator.universe import SECTORS

STREAM_PARAMS = 0  # per-symbol parameters (volatility, foreign share, ...)
STREAM_DAILY = 1
STREAM_TICKS = 2  # used by simulator.intraday

DIVIDEND_PROB = 1 / 500  # ~1 stock dividend per symbol every two years
DIVIDEND_RATIOS = np.array([0.10, 0.15, 0.20, 0.25, 0.30, 0.50])
MIN_LOTS_RANGE_DAY = 40  # below this a day trades at one price (a couple of prints, no range)
GARCH_ALPHA, GARCH_BETA = 0.08, 0.90  # volatility clustering; persistence 0.98
VOL_MARKET, VOL_SECTOR = 0.011, 0.007
VOL_IDIO = {"HOSE": 0.019, "HNX": 0.028, "UPCOM": 0.040}
FOREIGN_SHARE = {"HOSE": 0.04, "HNX": 0.015, "UPCOM": 0.005}


EFFECT_KINDS = ("short_term_reversal", "foreign_flow_momentum")
EFFECT_Z_CLIP = 3.0  # one outlier day (a 10% news jump) must not dominate the planted signal
FLOW_EWMA_DECAY = 0.97  # halflife ~23 trading days for the flow-ratio scale
FLOW_RATIO_SCALE = 1.62  # std of (2u*e^{0.6g} - 2u'*e^{0.6g'}): net flow ratio ~ fshare * this, used as start


@dataclass(frozen=True)
class AlphaEffect:
    """A planted, learnable effect (see the module docstring for the exact definitions)."""

    kind: Literal["short_term_reversal", "foreign_flow_momentum"]
    strength: float
    lookback: int = 5  # trading days (short_term_reversal only)

    def __post_init__(self) -> None:
        if self.kind not in EFFECT_KINDS:
            raise ValueError(f"unknown alpha effect {self.kind!r}; expected one of {EFFECT_KINDS}")
        if self.lookback < 1:
            raise ValueError(f"lookback must be >= 1, got {self.lookback}")


# Stock tick table by exchange code (HOSE, HNX, UPCOM) x price region (<10k, <50k, >=50k), the same rule as
# market.exchanges.tick_sizes; duplicated as integer-code arithmetic because the daily loop calls it ~10 times
# per day and the string-based public functions dominate the run time otherwise. Tests check the output
# against market.exchanges.
_TICKS = np.array([[10, 50, 100], [100, 100, 100], [100, 100, 100]], dtype=np.int64)


def tick_of(codes: np.ndarray, price: np.ndarray) -> np.ndarray:
    region = (price >= 10_000).astype(np.int64) + (price >= 50_000)
    return _TICKS[codes, region]


def round_nearest_tick(codes: np.ndarray, price: np.ndarray) -> np.ndarray:
    """Nearest on-grid price (ties up), at least one tick. `codes` are exchange codes."""
    lo = np.maximum(np.floor(price), 1).astype(np.int64)
    down = lo - lo % tick_of(codes, lo)
    hi = np.maximum(np.ceil(price), 1).astype(np.int64)
    up = hi + (-hi) % tick_of(codes, hi)
    out = np.where(price - down < up - price, down, up)
    return np.maximum(out, _TICKS[codes, 0])


@dataclass
class DayRecord:
    """One trading day at the simulated width. Prices int32 VND, volumes int32 shares, value int64 VND."""

    day: dt.date
    listed: np.ndarray
    first_day: np.ndarray
    traded: np.ndarray
    reference: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    value: np.ndarray
    lot: np.ndarray
    f_buy: np.ndarray
    f_sell: np.ndarray
    f_buy_px: np.ndarray
    f_sell_px: np.ndarray
    room: np.ndarray  # foreign room after the day: floor(cap fraction x shares_outstanding) - foreign_held
    shares_outstanding: np.ndarray  # int64, after the day's ex-date adjustment (point-in-time)
    foreign_held: np.ndarray  # int64 shares held by foreigners after the day's flows
    dividends: list[tuple[int, float, int, int]] = field(default_factory=list)  # (col, ratio, before, after)


class DailyPath:
    """Generates and caches the daily path from genesis forward, extending on demand."""

    def __init__(
        self, params: pd.DataFrame, width: int, seed: int, genesis: dt.date, effects: tuple[AlphaEffect, ...] = ()
    ) -> None:
        self.seed = seed
        self.effects = tuple(effects)
        self.full_width = len(params)
        self.n = width
        p = params.iloc[:width]
        self.symbols = p["symbol"].to_numpy(dtype=object)
        self.exchange = p["exchange"].to_numpy(dtype=object)
        self.codes = exchange_codes(self.exchange).astype(np.int64)
        self.sector_idx = np.array([SECTORS.index(s) for s in p["sector"]], dtype=np.int64)
        # The day list reaches the officially announced years and every listing date (so that listing indices
        # are final); later years are appended on demand. Only days up to the last one asked for are simulated.
        last_listing = max(p["listed_on"], default=genesis)
        span_end = dt.date(max(OFFICIAL_THROUGH.year, genesis.year, last_listing.year), 12, 31)
        self.days = trading_days(genesis, span_end)
        if not self.days:
            raise ValueError(f"no trading days between genesis {genesis} and {span_end}")
        self.day_index = {d: i for i, d in enumerate(self.days)}
        self.records: list[DayRecord] = []
        self._init_state(p, genesis)

    # ----------------------------------------------------------------------------------------- setup

    def _init_state(self, p: pd.DataFrame, genesis: dt.date) -> None:
        n, nf = self.n, self.full_width
        rng = np.random.default_rng([self.seed, STREAM_PARAMS])
        vol_mult = np.exp(rng.normal(0.0, 0.25, nf))[:n]
        fshare_noise = np.exp(rng.normal(0.0, 0.5, nf))[:n]
        hold_u = rng.random(nf)[:n]
        full_room = (rng.random(nf) < 0.15)[:n]
        ex = self.exchange
        self.sigma = np.array([VOL_IDIO[e] for e in ex]) * vol_mult
        # Large caps are less volatile: VN30 (first 30 rows) get 70% of the exchange's idiosyncratic vol.
        self.sigma[: min(n, 30)] *= 0.7
        self.jump_prob = np.where(np.arange(n) < 30, 0.01, 0.03)
        self.beta = p["beta"].to_numpy(dtype=float)
        self.adv = p["adv_shares"].to_numpy(dtype=float)
        self.fshare = np.array([FOREIGN_SHARE[e] for e in ex]) * fshare_noise
        self.fshare[: min(n, 30)] = 0.12 * fshare_noise[: min(n, 30)]
        # Liquid names trade every day; illiquid (mostly UPCoM) ones skip days.
        adv_lots = self.adv / 100
        self.p_no_trade = np.where(adv_lots > 2_000, 0.0, 1.0 / (1.0 + adv_lots / 15.0))
        # Listing: names listed on or before genesis trade from day 0 with a normal band; later listings
        # start on their first trading day on/after listed_on with the first-day band.
        listed_on = p["listed_on"].to_numpy()
        self.new_listing = np.array([d > genesis for d in listed_on])
        first_idx = np.searchsorted(np.array(self.days, dtype="datetime64[D]"), listed_on.astype("datetime64[D]"))
        self.first_idx = np.where(self.new_listing, first_idx, 0)
        self.ipo_price = p["price"].to_numpy(dtype=np.int64)
        # State carried from day to day.
        self.ref = self.ipo_price.copy()
        self.h_idio = self.sigma**2
        self.h_mkt = VOL_MARKET**2
        self.h_sec = np.full(len(SECTORS), VOL_SECTOR**2)
        self.shares = p["shares_outstanding"].to_numpy(dtype=np.int64).copy()
        self.cap_pct = p["foreign_cap_pct"].to_numpy(dtype=float)
        cap = self._cap()
        hold = np.where(full_room, cap, cap * (0.3 + 0.7 * hold_u)).astype(np.int64)
        self.hold = hold - hold % 100
        if self.effects:
            self._init_effect_state()

    def _init_effect_state(self) -> None:
        """State the planted effects read: only built when effects are on (no effect on the default path)."""
        n = self.n
        lookback = max([e.lookback for e in self.effects if e.kind == "short_term_reversal"], default=1)
        self.ret_hist = np.zeros((lookback, n))  # last `lookback` daily log returns, row t % lookback
        self.total_sigma = np.sqrt(self.sigma**2 + self.beta**2 * VOL_MARKET**2 + VOL_SECTOR**2)
        self.flow_var = (FLOW_RATIO_SCALE * self.fshare) ** 2
        self.flow_z = np.zeros(n)

    def _planted_return(self, t: int) -> np.ndarray:
        """Extra log return of day t from the effects; reads only state written by days < t."""
        out = np.zeros(self.n)
        for e in self.effects:
            if e.kind == "short_term_reversal":
                rows = [(t - k) % len(self.ret_hist) for k in range(1, e.lookback + 1)]
                past = self.ret_hist[rows].sum(axis=0) if t >= 1 else np.zeros(self.n)
                z = np.clip(past / (np.sqrt(e.lookback) * self.total_sigma), -EFFECT_Z_CLIP, EFFECT_Z_CLIP)
                out -= e.strength * self.sigma * z
            else:  # foreign_flow_momentum
                out += e.strength * self.sigma * self.flow_z
        return out

    def _update_effect_state(
        self, t: int, traded: np.ndarray, ref: np.ndarray, close: np.ndarray, f_net: np.ndarray, volume: np.ndarray
    ) -> None:
        """Record day t's realised return and flow z-score (after the day is formed: point-in-time for t+1)."""
        # ref is the ex-date-adjusted reference, so a stock dividend is not a fake -X% return.
        ret = np.where(traded, np.log(np.maximum(close, 1) / np.maximum(ref, 1)), 0.0)
        self.ret_hist[t % len(self.ret_hist)] = ret
        ratio = np.where(traded, f_net / np.maximum(volume, 1), 0.0)
        self.flow_var = np.where(
            traded, FLOW_EWMA_DECAY * self.flow_var + (1 - FLOW_EWMA_DECAY) * ratio**2, self.flow_var
        )
        scale = np.sqrt(np.maximum(self.flow_var, 1e-12))
        self.flow_z = np.clip(ratio / scale, -EFFECT_Z_CLIP, EFFECT_Z_CLIP)

    def _cap(self) -> np.ndarray:
        return np.floor(self.cap_pct / 100.0 * self.shares).astype(np.int64)

    # ---------------------------------------------------------------------------------------- access

    def _cover(self, day: dt.date) -> None:
        """Append the trading days through the end of `day`'s year (appending keeps every index stable)."""
        last = self.days[-1]
        if day <= last:
            return
        more = trading_days(last + dt.timedelta(days=1), dt.date(day.year, 12, 31))
        self.day_index.update((d, len(self.days) + i) for i, d in enumerate(more))
        self.days = self.days + more

    def index_of(self, day: dt.date) -> int:
        self._cover(day)
        if day not in self.day_index:
            raise ValueError(f"{day} is not a simulated trading day")
        return self.day_index[day]

    def window(self, start: dt.date, end: dt.date) -> list[DayRecord]:
        """Records for trading days in [start, end]; raises ValueError before genesis. Simulates up to `end` only."""
        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        if start < self.days[0]:
            raise ValueError(f"start {start} is before the simulator genesis {self.days[0]}")
        self._cover(end)
        days = [d for d in self.days if start <= d <= end]
        if not days:
            return []
        self.extend_to(self.day_index[days[-1]])
        return self.records[self.day_index[days[0]] : self.day_index[days[-1]] + 1]

    def extend_to(self, t: int) -> None:
        while len(self.records) <= t:
            self.records.append(self._step(len(self.records)))

    # ------------------------------------------------------------------------------------------ step

    def _step(self, t: int) -> DayRecord:
        day = self.days[t]
        n, nf, ex, cx = self.n, self.full_width, self.exchange, self.codes
        rng = np.random.default_rng([self.seed, STREAM_DAILY, day.toordinal()])
        # Fixed draw order and full width: day D's numbers depend only on (seed, D).
        zm = rng.standard_normal()
        zs = rng.standard_normal(len(SECTORS))
        zi = (rng.standard_t(3, nf) / np.sqrt(3.0))[:n]  # unit-variance fat tails -> limit days
        u = rng.random((8, nf))[:, :n]
        g = rng.standard_normal((9, nf))[:, :n]

        listed = self.first_idx <= t
        first = listed & self.new_listing & (self.first_idx == t)
        ref = np.where(first, self.ipo_price, self.ref)

        # Stock dividends: reference adjusted on the ex-date, prices continue from the adjusted level.
        div = listed & ~first & (u[0] < DIVIDEND_PROB)
        dividends: list[tuple[int, float, int, int]] = []
        if div.any():
            cols = np.flatnonzero(div)
            ratio = DIVIDEND_RATIOS[(u[1, cols] * len(DIVIDEND_RATIOS)).astype(np.int64)]
            after = round_nearest_tick(cx[cols], ref[cols] / (1.0 + ratio))
            # A penny stock (300 VND on a 100 VND grid) has no on-grid adjusted reference: no dividend then.
            keep = after < ref[cols]
            cols, ratio, after = cols[keep], ratio[keep], after[keep]
            for c, r, b, a in zip(cols, ratio, ref[cols], after, strict=True):
                dividends.append((int(c), float(r), int(b), int(a)))
            ref[cols] = after
            extra = np.round(self.shares[cols] * ratio).astype(np.int64)
            self.hold[cols] = self.hold[cols] + np.round(self.hold[cols] * ratio).astype(np.int64)
            self.shares[cols] += extra
            # Foreigners get their new shares too; rounding must not lift a full holding over the new cap.
            self.hold[cols] = np.minimum(self.hold[cols], self._cap()[cols])
        floor, ceil = price_limits_array(ex, ref, first)

        # Returns: market + sector + idiosyncratic, each GARCH(1,1) with symmetric zero-median innovations:
        # no drift term of any kind, so no characteristic of a symbol predicts the rank of its return.
        e_m = np.sqrt(self.h_mkt) * zm
        e_s = np.sqrt(self.h_sec) * zs
        e_i = np.sqrt(self.h_idio) * zi
        w = 1.0 - GARCH_ALPHA - GARCH_BETA
        self.h_mkt = w * VOL_MARKET**2 + GARCH_ALPHA * e_m**2 + GARCH_BETA * self.h_mkt
        self.h_sec = w * VOL_SECTOR**2 + GARCH_ALPHA * e_s**2 + GARCH_BETA * self.h_sec
        self.h_idio = w * self.sigma**2 + GARCH_ALPHA * e_i**2 + GARCH_BETA * self.h_idio
        # News jumps give the fat tails that put stocks on their limits (~1-4% of days, as in VN_MARKET.md).
        jump = np.where(u[7] < self.jump_prob, 0.10 * g[8], 0.0)
        r = self.beta * e_m + e_s[self.sector_idx] + e_i + jump
        if self.effects:
            r = r + self._planted_return(t)
        r = np.where(first, 0.08 + 0.12 * g[0], r)  # listing-day pop, inside the wide first-day band
        target = ref * np.exp(r)
        close = np.clip(round_nearest_tick(cx, target), floor, ceil)
        at_limit = (target >= ceil) | (target <= floor)
        excess = np.log(target / close)  # the unfilled move is dropped: a carry would be a free signal
        # A big overshoot locks the stock at the limit all day (one price, thin trading).
        locked = at_limit & (np.abs(excess) > 0.01) & (u[2] < 0.7)

        sig = np.sqrt(self.h_idio + self.h_mkt)
        opn = np.clip(round_nearest_tick(cx, ref * np.exp(0.3 * r + 0.4 * sig * g[1])), floor, ceil)
        hi = np.maximum(opn, close) * np.exp(0.6 * sig * np.abs(g[2]))
        lo = np.minimum(opn, close) * np.exp(-0.6 * sig * np.abs(g[3]))
        high = np.clip(round_nearest_tick(cx, hi), np.maximum(opn, close), ceil)
        low = np.clip(round_nearest_tick(cx, lo), floor, np.minimum(opn, close))

        activity = np.exp(0.5 * (np.sqrt(self.h_mkt) / VOL_MARKET - 1.0))
        # Volume rises with the realized move (not the unfilled part of a locked day) and market stress.
        moved = np.minimum(np.abs(np.log(close / ref)) / sig, 3.0)
        shares = self.adv * activity * np.exp(0.5 * moved - 0.25 + 0.45 * g[4])
        shares = np.where(locked, shares * (0.03 + 0.12 * u[3]), shares)
        shares = np.where(first, shares * 4.0, shares)
        lot = np.array([board_lot(e, day) for e in ("HOSE", "HNX", "UPCOM")], dtype=np.int64)[cx]
        lots = np.minimum(np.round(shares / lot), 2e9 / lot).astype(np.int64)
        traded = listed & (lots >= 1) & ((u[4] >= self.p_no_trade) | first)
        single = locked | (lots < MIN_LOTS_RANGE_DAY)
        opn = np.where(single, close, opn)
        high = np.where(single, close, high)
        low = np.where(single, close, low)

        # Value on the lattice ticks can hit exactly: S = V*L + tick(L)*k, VWAP kept inside the range.
        # VWAP is centred geometrically (mean log price, noise and bounds in log): an arithmetic mean of
        # O/H/L/C sits above the log path by ~0.1 x variance, which, through the UPCoM reference (= VWAP),
        # would give volatile names a higher median return. The arithmetic clip only binds on days wider
        # than ~+-25% (first days, one-tick penny bands); it keeps the value reachable by ticks.
        rng_px = (high - low).astype(float)
        log_hl = np.log(high / low)
        lvw = np.log(np.stack([opn, high, low, close])).mean(axis=0) + 0.12 * log_hl * g[5]
        vw = np.exp(np.clip(lvw, np.log(low) + 0.3 * log_hl, np.log(high) - 0.3 * log_hl))
        vw = np.clip(vw, low + 0.25 * rng_px, high - 0.25 * rng_px)
        t_low = tick_of(cx, low)
        s_lots = lots * low + t_low * np.round(lots * (vw - low) / t_low).astype(np.int64)
        value = np.where(traded, s_lots * lot, 0)
        vwap = np.where(traded, s_lots / np.maximum(lots, 1), ref)

        # Foreign flows in board lots; room never negative nor above the cap.
        cap = self._cap()
        f_buy = np.floor(lots * self.fshare * np.exp(0.6 * g[6]) * 2 * u[5]).astype(np.int64)
        f_sell = np.floor(lots * self.fshare * np.exp(0.6 * g[7]) * 2 * u[6]).astype(np.int64)
        f_buy = np.where(traded, np.minimum(f_buy, lots), 0) * lot
        f_sell = np.where(traded, np.minimum(f_sell, lots), 0) * lot
        f_sell = np.minimum(f_sell, self.hold - self.hold % lot)
        room_before = np.maximum(cap - self.hold, 0)
        f_buy = np.minimum(f_buy, room_before + f_sell - (room_before + f_sell) % lot)
        self.hold = self.hold + f_buy - f_sell
        room = cap - self.hold  # 0 <= hold <= cap: sells are capped by the holding, buys by the room
        f_buy_px = np.clip(round_nearest_tick(cx, vwap + 0.25 * rng_px * g[6]), low, high)
        f_sell_px = np.clip(round_nearest_tick(cx, vwap + 0.25 * rng_px * g[7]), low, high)

        # Next reference: previous close (HOSE/HNX), previous VWAP on the grid (UPCoM); unchanged if no trade.
        next_ref = np.where(cx == 2, round_nearest_tick(cx, vwap), close)
        self.ref = np.where(traded, next_ref, ref)
        if self.effects:
            self._update_effect_state(t, traded, ref, close, f_buy - f_sell, lots * lot)

        i32 = np.int32
        zero = np.zeros(n, dtype=i32)
        return DayRecord(
            day=day,
            listed=listed,
            first_day=first,
            traded=traded,
            reference=ref.astype(i32),
            open=np.where(traded, opn, zero).astype(i32),
            high=np.where(traded, high, zero).astype(i32),
            low=np.where(traded, low, zero).astype(i32),
            close=np.where(traded, close, zero).astype(i32),
            volume=np.where(traded, lots * lot, 0).astype(np.int64),
            value=value.astype(np.int64),
            lot=lot.astype(i32),
            f_buy=f_buy.astype(np.int64),
            f_sell=f_sell.astype(np.int64),
            f_buy_px=np.where(traded, f_buy_px, zero).astype(i32),
            f_sell_px=np.where(traded, f_sell_px, zero).astype(i32),
            room=room.astype(np.int64),
            shares_outstanding=self.shares.copy(),
            foreign_held=self.hold.copy(),
            dividends=dividends,
        )
