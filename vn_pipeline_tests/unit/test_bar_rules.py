from datetime import date

import pandas as pd

from vn_pipeline.lib.market_data.bar_rules import missing_bars, ohlc_violations, untraded_symbols, volume_mismatches

D = date(2026, 2, 24)


def _bars(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["symbol", "open", "high", "low", "close", "volume"]).assign(trading_date=D)


def test_ohlc_violations_name_every_broken_rule():
    bars = _bars([
        ("OK", 100, 110, 90, 105, 1_000),
        ("HI", 100, 104, 90, 105, 1_000),   # high below close
        ("LO", 100, 110, 101, 105, 1_000),  # low above open
        ("NEG", 100, 110, 90, 105, -1),
    ])  # fmt: skip
    found = ohlc_violations(bars).set_index("symbol")["rule"].to_dict()
    assert found == {"HI": "high_ge_open_close", "LO": "low_le_open_close", "NEG": "volume_non_negative"}
    assert ohlc_violations(_bars([("OK", 100, 110, 90, 105, 1)])).empty


def test_volume_mismatch_compares_minute_daily_and_tick_volume():
    daily = _bars([("A", 1, 1, 1, 1, 300), ("B", 1, 1, 1, 1, 200)]).assign(source="ticks")
    minute = pd.DataFrame({"trading_date": D, "symbol": ["A", "A", "B"], "volume": [100, 200, 100]})
    ticks = pd.DataFrame({"trading_date": D, "symbol": ["A", "A", "B"], "volume": [100, 200, 200]})
    bad = volume_mismatches(daily, minute, ticks)
    assert bad["symbol"].tolist() == ["B"]
    assert bad[["daily_volume", "minute_volume", "tick_volume"]].iloc[0].tolist() == [200, 100, 200]


def test_missing_bars_accepts_untraded_records():
    listings = pd.DataFrame({"trading_date": D, "symbol": ["A", "B", "C"]})
    daily = pd.DataFrame({"trading_date": [D], "symbol": ["A"]})
    untraded = pd.DataFrame({"trading_date": [D], "symbol": ["B"]})
    assert missing_bars(listings, daily, untraded)["symbol"].tolist() == ["C"]


def test_a_symbol_whose_trades_were_all_quarantined_is_not_called_untraded():
    listings = pd.DataFrame({"trading_date": D, "symbol": ["A", "B", "C"]})
    daily = pd.DataFrame({"trading_date": [D], "symbol": ["A"]})
    quarantined = pd.DataFrame({"trading_date": [D, D], "symbol": ["B", "B"]})
    untraded = untraded_symbols(listings, daily, quarantined)
    assert untraded["symbol"].tolist() == ["C"]
    # ...so the completeness rule reports B's missing bar
    assert missing_bars(listings, daily, untraded)["symbol"].tolist() == ["B"]
