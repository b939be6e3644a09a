"""Market rules for raw ticks as one pandera schema, and the split of a batch into good and quarantined rows.

Real vendor data breaks exchange rules a few times per thousand rows (VN_MARKET.md). One odd trade must not
stop a market's pipeline, and it must not vanish either: every failing row leaves with the rules it broke.
Structural problems (a missing column, a non-integer price column) are not row problems and raise instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import time

import numpy as np
import pandas as pd
import pandera.pandas as pa

from vn_pipeline.lib.market.exchanges import (
    BOARD_LOT,
    HOSE_BOARD_LOT_BEFORE_2021,
    HOSE_BOARD_LOT_CHANGE,
    on_tick_grid,
)
from vn_pipeline.lib.market.sessions import AUCTION_PRINT_GRACE, SESSION_CODES, market_close, market_open
from vn_pipeline.lib.market.timezone import VN_TZ_NAME
from vn_pipeline.lib.warehouse import columns

TICK_COLUMNS = list(columns.RAW_TICKS)


def _seconds_of_day(ts: pd.Series) -> np.ndarray:
    local = ts.dt.tz_convert(VN_TZ_NAME)
    return (local.dt.hour * 3600 + local.dt.minute * 60 + local.dt.second).to_numpy()


def _in_board_lots(frame: pd.DataFrame) -> pd.Series:
    """Lots follow the rule in force that day: HOSE traded in lots of 10 before 2021-01-04 (VN_MARKET.md)."""
    old_hose = (frame["exchange"] == "HOSE") & (frame["trading_date"] < HOSE_BOARD_LOT_CHANGE)
    lot = np.where(old_hose.to_numpy(), HOSE_BOARD_LOT_BEFORE_2021, BOARD_LOT)
    return pd.Series(frame["volume"].to_numpy() % lot == 0, index=frame.index)


def _on_grid(frame: pd.DataFrame) -> pd.Series:
    listed = frame["exchange"].notna().to_numpy()
    ok = np.ones(len(frame), dtype=bool)  # an unlisted row fails `listed_symbol`, not this rule
    ok[listed] = on_tick_grid(frame["exchange"].to_numpy()[listed], frame["price"].to_numpy()[listed])
    return pd.Series(ok, index=frame.index)


def _inside_band(frame: pd.DataFrame) -> pd.Series:
    inside = (frame["price"] >= frame["floor_price"]) & (frame["price"] <= frame["ceiling_price"])
    return inside | frame["exchange"].isna()


MORNING_END, AFTERNOON_START = 11 * 3600 + 30 * 60, 13 * 3600


def _seconds(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def _in_session(frame: pd.DataFrame) -> pd.Series:
    """[open, 11:30] or [13:00, close + grace]: auction prints are stamped just after their auction ends."""
    seconds = _seconds_of_day(frame["ts"])
    inside = frame["exchange"].isna().to_numpy(copy=True)  # an unlisted row fails `listed_symbol` instead
    grace = int(AUCTION_PRINT_GRACE.total_seconds())
    for exchange in frame["exchange"].dropna().unique():
        rows = (frame["exchange"] == exchange).to_numpy()
        s = seconds[rows]
        opened, closed = _seconds(market_open(exchange)), _seconds(market_close(exchange)) + grace
        inside[rows] = ((s >= opened) & (s <= MORNING_END)) | ((s >= AFTERNOON_START) & (s <= closed))
    return pd.Series(inside, index=frame.index)


def _same_day(frame: pd.DataFrame) -> pd.Series:
    local_date = frame["ts"].dt.tz_convert(VN_TZ_NAME).dt.date
    return local_date == frame["trading_date"]


# Each check's name is the rule a quarantined row is filed under; `listed_symbol` catches trades of a symbol
# with no listing that day (the join leaves its exchange empty, so the market rules cannot be applied).
RAW_TICKS_SCHEMA = pa.DataFrameSchema(
    {
        "ts": pa.Column(f"datetime64[ns, {VN_TZ_NAME}]", nullable=False, coerce=True),
        "symbol": pa.Column(nullable=False),
        "seq": pa.Column("int64", pa.Check.ge(0, name="seq_non_negative"), coerce=True),
        "price": pa.Column("int64", pa.Check.gt(0, name="price_positive")),
        "volume": pa.Column("int64", pa.Check.gt(0, name="volume_positive")),
        "side": pa.Column(nullable=True, checks=pa.Check.isin(["B", "S"], name="side_is_B_or_S")),
        "session": pa.Column(checks=pa.Check.isin(list(SESSION_CODES), name="known_session")),
        "cum_volume": pa.Column("int64", coerce=True),
        "exchange": pa.Column(
            nullable=True, checks=pa.Check(lambda s: s.notna(), name="listed_symbol", ignore_na=False)
        ),
    },
    checks=[
        pa.Check(_in_board_lots, name="volume_in_board_lots"),
        pa.Check(_on_grid, name="price_on_tick_grid"),
        pa.Check(_inside_band, name="price_within_band"),
        pa.Check(_in_session, name="timestamp_in_session"),
        pa.Check(_same_day, name="timestamp_on_trading_date"),
        # the running total at a trade includes the trade itself
        pa.Check(lambda f: f["cum_volume"] >= f["volume"], name="cum_volume_covers_trade"),
    ],
    strict=False,
)


@dataclass(frozen=True)
class TickValidation:
    good: pd.DataFrame
    quarantined: pd.DataFrame  # trading_date, source_table, symbol, rule, detail, row_data


def validate_ticks(
    ticks: pd.DataFrame, listings: pd.DataFrame, source: str = "batch", origin: pd.Series | None = None
) -> TickValidation:
    """Split ``ticks`` into rows that obey every rule and quarantine rows naming the rule and the source row.

    ``origin`` (aligned with ``ticks``) says where each row came from, e.g. "FRT.csv line 12"; without it a
    row is named by its position in ``source``."""
    missing = [c for c in TICK_COLUMNS if c not in ticks.columns]
    if missing:
        raise ValueError(f"{source}: raw ticks lack required columns {missing}")
    if ticks.empty:  # no trade, no rule broken (an empty read has object columns the schema would call malformed)
        return TickValidation(good=ticks[TICK_COLUMNS], quarantined=pd.DataFrame(columns=list(columns.QUARANTINE)))
    limits = listings[["trading_date", "symbol", "exchange", "floor_price", "ceiling_price"]]
    frame = ticks.reset_index(drop=True).merge(limits, on=list(columns.ROW_KEY), how="left")
    frame.index = ticks.index if ticks.index.is_unique else pd.RangeIndex(len(ticks))
    frame.loc[frame["exchange"].isna(), ["floor_price", "ceiling_price"]] = 0
    frame = frame.astype({"floor_price": "int64", "ceiling_price": "int64"})
    try:
        RAW_TICKS_SCHEMA.validate(frame, lazy=True)
        failures = pd.DataFrame(columns=["index", "check"])
    except pa.errors.SchemaErrors as err:
        failures = err.failure_cases
        structural = failures[failures["index"].isna()]
        if len(structural):
            raise ValueError(f"{source}: raw ticks are malformed: {structural.to_dict('records')}") from err
    failures = failures[["index", "check"]].drop_duplicates()
    failures["rule"] = failures["check"].astype(str).str.replace(r"\(.*\)$", "", regex=True)
    bad_index = pd.Index(failures["index"].unique())
    good = ticks.loc[~ticks.index.isin(bad_index), TICK_COLUMNS]
    where = (
        pd.Series(origin.to_numpy(), index=ticks.index)
        if origin is not None
        else pd.Series([f"{source} row {i}" for i in ticks.index], index=ticks.index, dtype=object)
    )
    return TickValidation(good=good, quarantined=_quarantine_rows(ticks, frame, failures, where))


def _quarantine_rows(
    ticks: pd.DataFrame, frame: pd.DataFrame, failures: pd.DataFrame, where: pd.Series
) -> pd.DataFrame:
    if failures.empty:
        return pd.DataFrame(columns=list(columns.QUARANTINE))
    rows = ticks.loc[failures["index"]]
    context = frame.loc[failures["index"], ["exchange", "floor_price", "ceiling_price"]]
    details = [
        f"{at}: {rule} (price={price}, volume={volume}, ts={ts}, exchange={exch}, band=[{lo}, {hi}])"
        for at, rule, price, volume, ts, exch, lo, hi in zip(
            where.loc[failures["index"]], failures["rule"], rows["price"], rows["volume"], rows["ts"],
            context["exchange"], context["floor_price"], context["ceiling_price"], strict=True,
        )
    ]  # fmt: skip
    return pd.DataFrame(
        {
            "trading_date": rows["trading_date"].to_numpy(object),
            "source_table": "market.raw_ticks",
            "symbol": rows["symbol"].to_numpy(object),
            "rule": failures["rule"].to_numpy(object),
            "detail": details,
            "row_data": [json.loads(json.dumps(r, default=str)) for r in rows[TICK_COLUMNS].to_dict("records")],
        }
    )
