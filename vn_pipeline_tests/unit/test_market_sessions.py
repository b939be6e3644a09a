"""Session schedule pinned to ../shared/VN_MARKET.md ("Sessions") and checked on real vendor trades."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from vn_pipeline.lib.market import (
    AUCTION_PRINT_GRACE,
    VN_TZ,
    Session,
    in_trading_hours,
    put_through_sessions,
    session_codes,
    session_of,
    sessions,
    trading_minutes,
)
from vn_pipeline_tests.real_data import VN_REAL

T = dt.time
INTRADAY = VN_REAL / "vnstock_vci" / "intraday"


def _schedule(exchange: str) -> list[tuple[str, dt.time, dt.time, str]]:
    return [(s.name, s.start, s.end, s.matching) for s in sessions(exchange)]


def test_timezone_is_utc_plus_seven_without_dst() -> None:
    for month in (1, 7):
        assert dt.datetime(2025, month, 1, 9, tzinfo=VN_TZ).utcoffset() == dt.timedelta(hours=7)


def test_hose_schedule() -> None:
    assert _schedule("HOSE") == [
        ("ATO", T(9, 0), T(9, 15), "auction"),
        ("CONT_AM", T(9, 15), T(11, 30), "continuous"),
        ("CONT_PM", T(13, 0), T(14, 30), "continuous"),
        ("ATC", T(14, 30), T(14, 45), "auction"),
    ]
    assert [(s.start, s.end) for s in put_through_sessions("HOSE")] == [
        (T(9, 0), T(11, 30)),
        (T(13, 0), T(15, 0)),
    ]
    assert all(s.matching == "put_through" for s in put_through_sessions("HOSE"))


def test_hnx_schedule_has_no_ato_and_a_post_close_session() -> None:
    assert _schedule("HNX") == [
        ("CONT_AM", T(9, 0), T(11, 30), "continuous"),
        ("CONT_PM", T(13, 0), T(14, 30), "continuous"),
        ("ATC", T(14, 30), T(14, 45), "auction"),
        ("PLO", T(14, 45), T(15, 0), "post_close"),
    ]


def test_upcom_schedule_has_no_auctions() -> None:
    assert _schedule("UPCOM") == [
        ("CONT_AM", T(9, 0), T(11, 30), "continuous"),
        ("CONT_PM", T(13, 0), T(15, 0), "continuous"),
    ]


def test_lunch_is_not_a_session() -> None:
    for e in ("HOSE", "HNX", "UPCOM"):
        assert "LUNCH" not in [s.name for s in sessions(e)]
        assert session_of(e, T(12, 0)) is None
    with pytest.raises(AttributeError):
        sessions("HOSE")[0].name = "X"  # type: ignore[misc]  # frozen dataclass
    assert isinstance(sessions("HOSE")[0], Session)


@pytest.mark.parametrize(
    ("exchange", "t", "code"),
    [
        ("HOSE", T(8, 59, 59), None),
        ("HOSE", T(9, 0), "ATO"),
        ("HOSE", T(9, 14, 59), "ATO"),
        ("HOSE", T(9, 15), "CONT"),
        ("HOSE", T(11, 29, 59), "CONT"),
        ("HOSE", T(11, 30), None),
        ("HOSE", T(13, 0), "CONT"),
        ("HOSE", T(14, 30), "ATC"),
        ("HOSE", T(14, 45), None),
        ("HNX", T(9, 0), "CONT"),
        ("HNX", T(14, 30), "ATC"),
        ("HNX", T(14, 45), "PLO"),
        ("HNX", T(15, 0), None),
        ("UPCOM", T(14, 30), "CONT"),
        ("UPCOM", T(14, 59, 59), "CONT"),
        ("UPCOM", T(15, 0), None),
    ],
)
def test_session_of(exchange: str, t: dt.time, code: str | None) -> None:
    assert session_of(exchange, t) == code


def test_in_trading_hours_allows_auction_print_grace() -> None:
    assert dt.timedelta(seconds=59) == AUCTION_PRINT_GRACE
    assert in_trading_hours("HOSE", T(14, 45, 9))  # ATC print stamped after the auction
    assert in_trading_hours("HOSE", T(14, 45, 59))
    assert not in_trading_hours("HOSE", T(14, 46, 0))
    assert in_trading_hours("UPCOM", T(14, 59))
    assert in_trading_hours("UPCOM", T(15, 0, 30))
    assert not in_trading_hours("UPCOM", T(15, 1))
    assert not in_trading_hours("HOSE", T(8, 59, 59))
    assert in_trading_hours("HOSE", T(11, 30, 0))
    assert not in_trading_hours("HOSE", T(11, 30, 1))  # lunch
    assert not in_trading_hours("HNX", T(12, 59, 59))
    assert in_trading_hours("HNX", T(13, 0))


def test_trading_minutes_do_not_span_lunch() -> None:
    hose = trading_minutes("HOSE")
    assert len(hose) == 150 + 105
    assert hose[0] == T(9, 0) and hose[-1] == T(14, 44)
    assert T(11, 29) in hose and T(11, 30) not in hose and T(12, 59) not in hose and T(13, 0) in hose
    for e in ("HNX", "UPCOM"):
        m = trading_minutes(e)
        assert len(m) == 270 and m[-1] == T(14, 59)
    assert hose == sorted(set(hose))


def test_session_codes_matches_scalar() -> None:
    secs = np.arange(8 * 3600, 15 * 3600 + 120, 7)
    for e in ("HOSE", "HNX", "UPCOM"):
        got = session_codes(e, secs)
        expected = [session_of(e, T(s // 3600, s % 3600 // 60, s % 60)) for s in secs]
        assert got.tolist() == expected
    mixed = session_codes(np.array(["HOSE", "HNX", "UPCOM"]), np.array([9 * 3600 + 60, 14 * 3600 + 50 * 60, 1]))
    assert mixed.tolist() == ["ATO", "PLO", None]


def test_real_vendor_trades_fall_inside_trading_hours() -> None:
    files = sorted(INTRADAY.glob("*.csv"))
    if not files:
        pytest.skip("shared intraday fixtures not available")
    df = pd.concat([pd.read_csv(f, encoding="utf-8-sig", usecols=["time", "match_type"]) for f in files])
    tod = pd.to_datetime(df["time"])
    times = [T(h, m, s) for h, m, s in zip(tod.dt.hour, tod.dt.minute, tod.dt.second, strict=True)]
    # UPCoM has the widest hours; no trade is printed at lunch or outside close + grace.
    assert all(in_trading_hours("UPCOM", t) for t in times)
    atc = [t for t, mt in zip(times, df["match_type"], strict=True) if mt == "atc"]
    ato = [t for t, mt in zip(times, df["match_type"], strict=True) if mt == "ato"]
    assert atc and ato
    # ATC prints are stamped after the scheduled auction end: outside session_of, inside the grace.
    assert all(session_of("HOSE", t) is None and in_trading_hours("HOSE", t) for t in atc)
    assert all(T(9, 15) <= t < T(9, 16) for t in ato)
