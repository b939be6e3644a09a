"""Trading sessions per exchange, Asia/Ho_Chi_Minh local time (UTC+7, no DST). See VN_MARKET.md.

Intervals are half-open [start, end). Vendor feeds stamp auction prints at the END of the auction (ATO at
~09:15:0x, ATC at ~14:45:xx), i.e. just outside the auction window by the schedule; `in_trading_hours`
therefore allows `AUCTION_PRINT_GRACE` after the close, while `session_of` reports the scheduled session.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import numpy as np

from vn_pipeline.lib.market.exchanges import EXCHANGES, exchange_codes, normalize_exchange

AUCTION_PRINT_GRACE = dt.timedelta(seconds=59)

# Matching modes.
AUCTION = "auction"
CONTINUOUS = "continuous"
POST_CLOSE = "post_close"
PUT_THROUGH = "put_through"

# Coarse codes returned by session_of / session_codes.
SESSION_CODES = ("ATO", "CONT", "ATC", "PLO")


@dataclass(frozen=True)
class Session:
    name: str
    start: dt.time
    end: dt.time  # exclusive
    matching: str

    @property
    def code(self) -> str:
        """Coarse code: both continuous halves map to "CONT"."""
        return "CONT" if self.matching == CONTINUOUS else self.name

    def contains(self, t: dt.time) -> bool:
        return self.start <= t < self.end


_T = dt.time
_MORNING_END = _T(11, 30)
_AFTERNOON_START = _T(13, 0)

# Lunch (11:30-13:00) is not a trading session and is deliberately absent from these lists.
_SESSIONS: dict[str, tuple[Session, ...]] = {
    "HOSE": (
        Session("ATO", _T(9, 0), _T(9, 15), AUCTION),
        Session("CONT_AM", _T(9, 15), _MORNING_END, CONTINUOUS),
        Session("CONT_PM", _AFTERNOON_START, _T(14, 30), CONTINUOUS),
        Session("ATC", _T(14, 30), _T(14, 45), AUCTION),
    ),
    "HNX": (
        Session("CONT_AM", _T(9, 0), _MORNING_END, CONTINUOUS),
        Session("CONT_PM", _AFTERNOON_START, _T(14, 30), CONTINUOUS),
        Session("ATC", _T(14, 30), _T(14, 45), AUCTION),
        Session("PLO", _T(14, 45), _T(15, 0), POST_CLOSE),
    ),
    "UPCOM": (
        Session("CONT_AM", _T(9, 0), _MORNING_END, CONTINUOUS),
        Session("CONT_PM", _AFTERNOON_START, _T(15, 0), CONTINUOUS),
    ),
}

# Only HOSE's put-through hours are documented in VN_MARKET.md.
_PUT_THROUGH: dict[str, tuple[Session, ...]] = {
    "HOSE": (
        Session("PUT_THROUGH", _T(9, 0), _MORNING_END, PUT_THROUGH),
        Session("PUT_THROUGH", _AFTERNOON_START, _T(15, 0), PUT_THROUGH),
    ),
}


def sessions(exchange: str) -> list[Session]:
    """Order-matching sessions of a trading day, in time order (lunch excluded, put-through separate)."""
    return list(_SESSIONS[normalize_exchange(exchange)])


def put_through_sessions(exchange: str) -> list[Session]:
    ex = normalize_exchange(exchange)
    if ex not in _PUT_THROUGH:
        raise ValueError(f"put-through hours for {ex} are not documented in VN_MARKET.md")
    return list(_PUT_THROUGH[ex])


def market_open(exchange: str) -> dt.time:
    return _SESSIONS[normalize_exchange(exchange)][0].start


def market_close(exchange: str) -> dt.time:
    return _SESSIONS[normalize_exchange(exchange)][-1].end


def session_of(exchange: str, t: dt.time) -> str | None:
    """Scheduled session code ("ATO", "CONT", "ATC", "PLO") at local time `t`, None outside trading."""
    for s in _SESSIONS[normalize_exchange(exchange)]:
        if s.contains(t):
            return s.code
    return None


def _seconds(t: dt.time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def in_trading_hours(exchange: str, t: dt.time) -> bool:
    """True if a trade print stamped `t` is plausible: [open, 11:30] or [13:00, close + grace].

    The grace covers the ATC print stamped at ~14:45:xx on HOSE/HNX and late UPCoM prints at 14:59:xx;
    11:30:00 itself is accepted because the last morning match can carry that stamp.
    """
    ex = normalize_exchange(exchange)
    secs = _seconds(t) + t.microsecond / 1e6
    close = _seconds(market_close(ex)) + AUCTION_PRINT_GRACE.total_seconds()
    morning = _seconds(market_open(ex)) <= secs <= _seconds(_MORNING_END)
    afternoon = _seconds(_AFTERNOON_START) <= secs <= close
    return morning or afternoon


@cache
def trading_minutes(exchange: str) -> list[dt.time]:
    """Start times of the 1-minute bars of a trading day; no bar spans lunch.

    HOSE: 09:00..11:29 and 13:00..14:44 (255 bars); HNX/UPCoM: 09:00..11:29 and 13:00..14:59 (270).
    Auction prints stamped after the close (within the grace) belong to the last bar.
    """
    ex = normalize_exchange(exchange)
    out: list[dt.time] = []
    for start, end in _continuous_blocks(ex):
        for m in range(start // 60, end // 60):
            out.append(dt.time(m // 60, m % 60))
    return out


def _continuous_blocks(ex: str) -> list[tuple[int, int]]:
    """Merge adjacent sessions into [start, end) blocks in seconds since midnight."""
    blocks: list[tuple[int, int]] = []
    for s in _SESSIONS[ex]:
        a, b = _seconds(s.start), _seconds(s.end)
        if blocks and blocks[-1][1] == a:
            blocks[-1] = (blocks[-1][0], b)
        else:
            blocks.append((a, b))
    return blocks


@cache
def _boundaries(ex: str) -> tuple[np.ndarray, np.ndarray]:
    """Sorted boundary seconds and the code in force from each boundary (None in gaps)."""
    starts: list[int] = []
    labels: list[str | None] = []
    for s in _SESSIONS[ex]:
        a, b = _seconds(s.start), _seconds(s.end)
        if starts and starts[-1] == a:
            labels[-1] = s.code  # previous gap has zero length
        else:
            starts.append(a)
            labels.append(s.code)
        starts.append(b)
        labels.append(None)
    return np.asarray(starts, dtype=np.int64), np.asarray(labels, dtype=object)


def session_codes(exchange: np.ndarray | str, seconds_since_midnight: np.ndarray) -> np.ndarray:
    """Vectorized `session_of`: object array of codes / None. Broadcasts exchange against times."""
    codes = exchange_codes(exchange)
    secs = np.asarray(seconds_since_midnight)
    codes, secs = np.broadcast_arrays(codes, secs)
    out = np.full(secs.shape, None, dtype=object)
    for i, ex in enumerate(EXCHANGES):
        mask = codes == i
        if not mask.any():
            continue
        starts, labels = _boundaries(ex)
        idx = np.searchsorted(starts, secs[mask], side="right") - 1
        res = np.full(idx.shape, None, dtype=object)
        ok = idx >= 0
        res[ok] = labels[idx[ok]]
        out[mask] = res
    return out
