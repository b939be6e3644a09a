from datetime import date

import pandas as pd
import pytest

from vn_pipeline.lib.market.exchanges import price_limits
from vn_pipeline.lib.market_data.tick_rules import TICK_COLUMNS, validate_ticks

DAY = date(2026, 2, 24)


def _listing(symbol: str, exchange: str, reference: int) -> dict:
    floor, ceiling = price_limits(exchange, reference)
    return {"trading_date": DAY, "symbol": symbol, "exchange": exchange, "reference_price": reference,
            "floor_price": floor, "ceiling_price": ceiling}  # fmt: skip


LISTINGS = pd.DataFrame([_listing("AAA", "HOSE", 20_000), _listing("BBB", "UPCOM", 600)])


def _ticks(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["time", "symbol", "price", "volume", "side", "session"])
    frame["ts"] = pd.to_datetime(f"{DAY} " + frame.pop("time")).dt.tz_localize("Asia/Ho_Chi_Minh")
    frame["trading_date"] = DAY
    frame["seq"] = range(len(frame))
    frame["cum_volume"] = frame.groupby("symbol")["volume"].cumsum()
    return frame


def test_good_rows_flow_and_each_bad_row_is_quarantined_with_its_rule():
    ticks = _ticks(
        [
            ("09:15:03", "AAA", 20_000, 1_000, None, "ATO"),   # good
            ("10:00:00", "AAA", 20_050, 200, "B", "CONT"),     # good
            ("10:00:01", "AAA", 20_020, 100, "S", "CONT"),     # off the 50-VND grid
            ("10:00:02", "AAA", 21_450, 100, "B", "CONT"),     # above the 21,400 ceiling
            ("12:00:00", "AAA", 20_000, 100, "B", "CONT"),     # lunch break
            ("14:45:09", "AAA", 20_100, 500, None, "ATC"),     # ATC print stamped after 14:45: good
            ("10:05:00", "AAA", 20_000, 150, "B", "CONT"),     # not a board lot
            ("14:59:00", "BBB", 700, 100, "B", "CONT"),        # UPCoM trades to 15:00, one tick up: good
            ("10:00:00", "ZZZ", 10_000, 100, "B", "CONT"),     # not listed that day
        ]
    )  # fmt: skip
    result = validate_ticks(ticks, LISTINGS, source="test.csv")
    assert sorted(result.good["seq"]) == [0, 1, 5, 7]
    seqs = [row["seq"] for row in result.quarantined["row_data"]]
    assert set(zip(seqs, result.quarantined["rule"], strict=True)) == {
        (2, "price_on_tick_grid"),
        (3, "price_within_band"),
        (4, "timestamp_in_session"),
        (6, "volume_in_board_lots"),
        (8, "listed_symbol"),
    }
    assert all("test.csv row" in d for d in result.quarantined["detail"])
    assert len(result.good) + len(result.quarantined) == len(ticks)


def test_missing_column_is_a_structural_error_naming_the_source():
    ticks = _ticks([("10:00:00", "AAA", 20_000, 100, "B", "CONT")]).drop(columns="volume")
    with pytest.raises(ValueError, match=r"feed\.csv.*volume"):
        validate_ticks(ticks, LISTINGS, source="feed.csv")


def test_board_lot_is_the_one_in_force_that_day():
    old_day = date(2020, 6, 1)  # HOSE traded in lots of 10 until 2021-01-04
    ticks = _ticks([("10:00:00", "AAA", 20_000, 50, "B", "CONT"), ("10:00:01", "AAA", 20_000, 55, "B", "CONT")])
    ticks["trading_date"] = old_day
    ticks["ts"] = ticks["ts"] - (pd.Timestamp(DAY) - pd.Timestamp(old_day))
    listings = LISTINGS.assign(trading_date=old_day)
    result = validate_ticks(ticks, listings)
    assert result.good["volume"].tolist() == [50]
    assert result.quarantined["rule"].tolist() == ["volume_in_board_lots"]
    # the same 50 shares in 2026 are an odd lot
    assert validate_ticks(_ticks([("10:00:00", "AAA", 20_000, 50, "B", "CONT")]), LISTINGS).good.empty


def test_a_window_without_trades_breaks_no_rule():
    """What an empty read of market.raw_ticks gives (object columns) is no malformed batch."""
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in TICK_COLUMNS})
    result = validate_ticks(empty, LISTINGS, source="stored market.raw_ticks")
    assert result.good.empty and result.quarantined.empty and list(result.good.columns) == TICK_COLUMNS
