"""A small warehouse and Dagster history for the exporter's tests: rows in the real tables, runs of a real job on a
real instance, with every figure the tests expect written down here beside the rows that imply it."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import dagster as dg
import psycopg

from vn_pipeline.defs.partitions import trading_day_partitions

CLOSE_DAY = dt.date(2026, 11, 30)  # a Monday; the tests' clock reads Wednesday 2026-12-02
QUARANTINE_DAY = dt.date(2026, 11, 30)
STORED_BARS = 8  # ohlcv_1d rows of QUARANTINE_DAY
QUARANTINED = {"price_band": 2, "negative_volume": 1}  # rule -> rows from market.ohlcv_1d on QUARANTINE_DAY
EQUITY = [100.0, 120.0, 90.0]  # topk's NAV: peak 120, now 90 -> drawdown -0.25
STATS = {"sharpe": 1.25, "turnover": 3.5}
VAR = {dt.date(2026, 11, 27): 0.02, dt.date(2026, 11, 30): 0.045}  # latest is beyond the 0.03 default limit
CVAR_LATEST = 0.06
ROOM = {"FPT": 0.8, "VCB": None}  # held on the latest report; VCB's cap is unknown
APPROVED_RANK_IC = 0.05  # the newest approved model's; an older approved one has 0.03, a newer unapproved 0.9
LIMITS = {"max_drawdown": 0.2, "max_var_95": 0.03, "max_single_name_weight": 0.15}
BAR_ROWS = 3  # rows the test asset reports


def populate_warehouse(conn: psycopg.Connection[Any]) -> None:
    """Insert the rows above into the real tables (one transaction; the caller commits)."""
    bars = [(CLOSE_DAY, f"S{i:02d}", 10, 11, 9, 10, 100, 1000, "daily_bars") for i in range(STORED_BARS)]
    bars.append((dt.date(2026, 11, 27), "S00", 10, 11, 9, 10, 100, 1000, "daily_bars"))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO market.ohlcv_1d (trading_date, symbol, open, high, low, close, volume, value, source)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            bars,
        )
        quarantine = [
            (QUARANTINE_DAY, "market.ohlcv_1d", f"Q{rule}{i}", rule, "planted", "{}")
            for rule, n in QUARANTINED.items()
            for i in range(n)
        ]
        quarantine.append((dt.date(2026, 11, 27), "market.ohlcv_1d", "OLD", "stale_rule", "older day", "{}"))
        cur.executemany(
            "INSERT INTO market.quarantine (trading_date, source_table, symbol, rule, detail, row_data)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            quarantine,
        )
        models = [("old", dt.date(2026, 6, 1), 0.03, True), ("new", dt.date(2026, 9, 1), APPROVED_RANK_IC, True),
                  ("rejected", dt.date(2026, 10, 1), 0.9, False)]  # fmt: skip
        cur.executemany(
            "INSERT INTO ml.models (model_id, train_start, train_end, valid_end, data_end, metadata, model_text,"
            " approved) VALUES (%s, '2025-01-02', '2026-01-02', %s, %s, %s, '', %s)",
            [(mid, end, end, json.dumps({"extra": {"rank_ic_mean": ic}}), ok) for mid, end, ic, ok in models],
        )
        cur.execute(
            "INSERT INTO backtest.runs (strategy, start_date, end_date, params, stats)"
            " VALUES ('topk', '2026-11-26', '2026-11-30', '{}', %s)",
            (json.dumps(STATS),),
        )
        days = [dt.date(2026, 11, 26), dt.date(2026, 11, 27), dt.date(2026, 11, 30)]
        cur.executemany(
            "INSERT INTO backtest.equity (strategy, trading_date, equity, cash) VALUES ('topk', %s, %s, 0)",
            list(zip(days, EQUITY, strict=True)),
        )
        summary = [(day, "topk", "var_hist_95", v) for day, v in VAR.items()]
        summary += [(CLOSE_DAY, "topk", "cvar_hist_95", CVAR_LATEST), (CLOSE_DAY, "topk", "drawdown", -0.25),
                    (CLOSE_DAY, "topk", "nav", 90.0)]  # fmt: skip
        cur.executemany(
            "INSERT INTO risk.summary (trading_date, strategy, metric, value) VALUES (%s, %s, %s, %s)", summary
        )
        positions = [(CLOSE_DAY, symbol, usage) for symbol, usage in ROOM.items()]
        positions.append((dt.date(2026, 11, 27), "HPG", 0.5))  # sold since: not the book's any more
        cur.executemany(
            "INSERT INTO risk.positions (trading_date, strategy, symbol, weight, value, shares, foreign_room_usage)"
            " VALUES (%s, 'topk', %s, 0.1, 9, 100, %s)",
            positions,
        )


@dg.asset(key=["metrics", "bars"], partitions_def=trading_day_partitions)
def bars() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"dagster/row_count": BAR_ROWS})


@dg.asset_check(asset=bars, blocking=True)
def bars_sane() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.ERROR, metadata={"rows": 1})


@dg.asset_check(asset=bars)
def bars_fresh() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True, severity=dg.AssetCheckSeverity.WARN)


@dg.asset(key=["metrics", "model"])
def model() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"dagster/row_count": 1})


@dg.asset(key=["metrics", "broken"])
def broken() -> None:
    raise RuntimeError("planted failure")


defs = dg.Definitions(
    assets=[bars, model, broken],
    asset_checks=[bars_sane, bars_fresh],
    jobs=[
        dg.define_asset_job("metrics_bars", selection=[bars], partitions_def=trading_day_partitions),
        dg.define_asset_job("metrics_model", selection=[model]),
        dg.define_asset_job("metrics_broken", selection=[broken]),
    ],
)


def populate_instance(instance: dg.DagsterInstance) -> None:
    """Runs: bars for two partitions (the newer one first, so 'newest partition' is not 'latest run'; both fail, on
    their blocking check), the model once (a success); metrics/broken never runs."""
    for day in ("2026-11-30", "2026-11-27"):
        defs.resolve_job_def("metrics_bars").execute_in_process(instance=instance, partition_key=day,
                                                                raise_on_error=False)  # fmt: skip
    defs.resolve_job_def("metrics_model").execute_in_process(instance=instance)
