from datetime import date

import pandas as pd

from vn_pipeline.lib.market_data.bars import combine_daily, daily_bars_from_ticks, minute_bars

DAY = date(2026, 2, 24)


def _ticks(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["time", "symbol", "seq", "price", "volume", "side", "session"])
    frame["ts"] = pd.to_datetime(f"{DAY} " + frame.pop("time")).dt.tz_localize("Asia/Ho_Chi_Minh")
    frame["trading_date"] = DAY
    return frame


TICKS = _ticks(
    [
        ("09:15:02", "AAA", 0, 10_000, 1_000, None, "ATO"),
        ("09:15:30", "AAA", 2, 10_100, 200, "B", "CONT"),  # same minute, listed before seq 1 on purpose
        ("09:15:30", "AAA", 1, 9_950, 300, "S", "CONT"),
        ("11:29:59", "AAA", 3, 10_050, 100, "B", "CONT"),
        ("13:00:00", "AAA", 4, 10_000, 400, "S", "CONT"),
        ("14:45:03", "AAA", 5, 10_050, 500, None, "ATC"),
        ("09:00:10", "BBB", 0, 21_300, 100, "B", "CONT"),
    ]
)


def test_minute_bars_follow_trade_order_and_skip_lunch():
    bars = minute_bars(TICKS).set_index(["symbol", "ts"])
    assert len(bars) == 5  # AAA 09:15, 11:29, 13:00, 14:45; BBB 09:00
    first = bars.loc[("AAA", pd.Timestamp(f"{DAY} 09:15", tz="Asia/Ho_Chi_Minh"))]
    assert (first.open, first.high, first.low, first.close) == (10_000, 10_100, 9_950, 10_100)
    assert first.volume == 1_500 and first.trade_count == 3
    assert first.buy_volume == 200 and first.sell_volume == 300
    assert first.value == 10_000 * 1_000 + 10_100 * 200 + 9_950 * 300
    minutes = {ts.strftime("%H:%M") for _, ts in bars.index}
    assert not any("11:30" <= m < "13:00" for m in minutes)
    assert str(bars.index.get_level_values("ts").tz) == "Asia/Ho_Chi_Minh"


def test_daily_bars_from_ticks_match_the_trades():
    bars = daily_bars_from_ticks(TICKS).set_index("symbol")
    aaa = bars.loc["AAA"]
    assert (aaa.open, aaa.high, aaa.low, aaa.close) == (10_000, 10_100, 9_950, 10_050)
    assert aaa.volume == TICKS.loc[TICKS.symbol == "AAA", "volume"].sum()
    assert aaa.ato_price == 10_000 and aaa.atc_price == 10_050
    assert aaa.vwap == aaa.value / aaa.volume
    assert pd.isna(bars.loc["BBB", "ato_price"])
    assert set(bars["source"]) == {"ticks"}


def test_combine_prefers_ticks_and_falls_back_to_vendor_bars():
    vendor = pd.DataFrame(
        {
            "trading_date": [DAY, DAY],
            "symbol": ["AAA", "CCC"],
            "open": [1, 5_000],
            "high": [1, 5_100],
            "low": [1, 4_900],
            "close": [1, 5_000],
            "volume": [1, 2_000],
            "value": [1, 10_000_000],
        }
    )
    combined = combine_daily(daily_bars_from_ticks(TICKS), vendor).set_index("symbol")
    assert combined.loc["AAA", "source"] == "ticks" and combined.loc["AAA", "close"] == 10_050
    assert combined.loc["CCC", "source"] == "daily_bars" and combined.loc["CCC", "vwap"] == 5_000
    assert sorted(combined.index) == ["AAA", "BBB", "CCC"]
