"""warmup_nan_rows (what features_nan_only_in_warmup reports) on the embedded warehouse: stored features of a market
with sparse foreign flows and VN30 levels that start late pass, each rule's share and the range without VN30
levels are reported, and a NaN no rule explains is still flagged."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from vn_pipeline.lib.features import WARMUP_DAYS, compute_features
from vn_pipeline.lib.features.inputs import warmup_nan_rows
from vn_pipeline.lib.features.synthetic import random_market
from vn_pipeline.lib.market.calendar import trading_days
from vn_pipeline.lib.warehouse.writes import write_partition

DAYS = trading_days(dt.date(2003, 1, 2), dt.date(2004, 12, 31))  # a window no other test writes
START = DAYS[WARMUP_DAYS + 40]  # the checked window: seasoned rows only
VN30_FROM = DAYS[WARMUP_DAYS + 20]


def _market() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    bars, flows, index = random_market(3, len(DAYS), seed=31)
    bars = bars.drop(columns="vwap").assign(source="daily_bars")
    real_day = dict(zip(sorted(bars["trading_date"].unique()), DAYS, strict=True))
    for frame in (bars, flows):
        frame["trading_date"] = frame["trading_date"].map(real_day)
    # S0002 has no flow file; S0001 misses one day of flows inside the checked window
    gap = DAYS[WARMUP_DAYS + 60]
    flows = flows[(flows["symbol"] != "S0002") & ~((flows["symbol"] == "S0001") & (flows["trading_date"] == gap))]
    levels = pd.DataFrame({"trading_date": [real_day[d] for d in index.index], "index_code": "VN30"})
    levels[["open", "high", "low", "close"]] = np.repeat(index.to_numpy()[:, None], 4, axis=1)
    return bars, flows.reset_index(drop=True), levels[levels["trading_date"] >= VN30_FROM]


def test_missing_flows_and_vn30_pass_and_are_reported(conn: psycopg.Connection[Any]) -> None:
    bars, flows, levels = _market()
    first, end = DAYS[0], DAYS[-1]
    write_partition(conn, "market.ohlcv_1d", bars, first, end)
    write_partition(conn, "market.foreign_flows", flows, first, end)
    write_partition(conn, "market.index_levels", levels, first, end)
    vn30 = levels.set_index("trading_date")["close"]
    features = compute_features(bars, flows, vn30, start=START)
    write_partition(conn, "features.daily", features, START, end)

    result = warmup_nan_rows(conn, START, end)
    assert result.offending.empty, result.offending.head()
    assert result.needs_rule["without_foreign_flows"] > 0 and result.needs_rule["without_vn30_levels"] > 0
    assert [str(r) for r in result.missing_vn30] == [
        f"no VN30 levels {DAYS[40]} → {DAYS[WARMUP_DAYS + 19]} (230 trading days)"
    ]

    conn.execute("UPDATE features.daily SET rrg_rs_ratio = NULL WHERE trading_date = %s AND symbol = 'S0000'", (end,))
    flagged = warmup_nan_rows(conn, START, end).offending
    assert flagged[["symbol", "nan_features"]].values.tolist() == [["S0000", "rrg_rs_ratio"]]
