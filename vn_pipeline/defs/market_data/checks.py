"""Asset checks on market data, each named after the rule it tests, with the offending rows in its metadata."""

import json

import dagster as dg
import pandas as pd

from vn_pipeline.defs.common import table, window
from vn_pipeline.defs.market_data.assets import listings, ohlcv_1d, ohlcv_1m, raw_ticks
from vn_pipeline.defs.partitions import trading_day_partitions
from vn_pipeline.defs.resources import WarehouseResource
from vn_pipeline.lib.market_data.bar_rules import missing_bars, ohlc_violations, volume_mismatches
from vn_pipeline.lib.market_data.tick_rules import TICK_COLUMNS, validate_ticks
from vn_pipeline.lib.sources.vendors.landing import FILE_RULES, HARMLESS_FILE_RULES
from vn_pipeline.lib.warehouse.quarantine import read_quarantine
from vn_pipeline.lib.warehouse.tick_totals import (
    RUNNING_TOTAL_RULE,
    running_total_breaks,
    uncovered_shares,
    volume_by_symbol_day,
)

SAMPLE_ROWS = 20
# Vendor data breaks market rules a few times per thousand rows (VN_MARKET.md); above this the feed is broken.
MAX_QUARANTINE_RATE = 0.01


def _sample(frame: pd.DataFrame) -> dg.TableMetadataValue:
    return table(frame.head(SAMPLE_ROWS))


@dg.asset_check(asset=raw_ticks, blocking=True, partitions_def=trading_day_partitions)
def raw_ticks_obey_market_rules(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    """Stored ticks pass the pandera schema (types, nulls, price > 0, tick grid, band, lots, session hours),
    and the share of trades quarantined for breaking a rule stays under 1%. Whole files in quarantine are
    `vendor_files_ingested`'s to report, and a duplicate of a stored trade is no bad trade: neither counts."""
    start, end = window(context)
    ticks = warehouse.read_partition("market.raw_ticks", start, end, columns=TICK_COLUMNS)
    day_listings = warehouse.read_partition("market.listings", start, end)
    with warehouse.connect() as conn:
        quarantined = read_quarantine(conn, "market.raw_ticks", start, end)
    # the same rules the asset applied on the way in, re-applied to what is stored (any writer, any time)
    failures = validate_ticks(ticks, day_listings, source="stored market.raw_ticks").quarantined
    rejected = quarantined[~quarantined["rule"].isin(FILE_RULES | {"duplicate_trade"})]
    # a trade that broke two rules is quarantined twice (once per rule) but is one bad trade
    bad_trades = rejected["row_data"].map(lambda r: json.dumps(r, sort_keys=True)).nunique() if len(rejected) else 0
    total = len(ticks) + bad_trades
    rate = bad_trades / total if total else 0.0
    by_rule = quarantined["rule"].value_counts().to_dict() if len(quarantined) else {}
    return dg.AssetCheckResult(
        passed=failures.empty and rate <= MAX_QUARANTINE_RATE,
        metadata={
            "stored_rows": len(ticks),
            "stored_rows_failing": len(failures),
            "quarantined_rows": len(quarantined),
            "quarantined_trades": bad_trades,
            "quarantine_rate": rate,
            "max_quarantine_rate": MAX_QUARANTINE_RATE,
            "quarantined_by_rule": by_rule,
            "failures": _sample(failures.drop(columns="row_data")),
            "quarantined_sample": _sample(quarantined.drop(columns="row_data")),
        },
    )


@dg.asset_check(asset=raw_ticks, partitions_def=trading_day_partitions)
def vendor_files_ingested(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Every vendor file that landed for the day was read: a file quarantined whole (unreadable, too large, no
    valid row, prices in the wrong unit, ...) fails this check, naming the file and the rule. Its symbol's
    stored data of the day was kept, not replaced by nothing. A file that only repeats trades already landed
    is merged away and listed, not failed."""
    start, end = window(context)
    with warehouse.connect() as conn:
        quarantined = read_quarantine(conn, "market.raw_ticks", start, end)
    files = quarantined[quarantined["rule"].isin(FILE_RULES)]
    failed = files[~files["rule"].isin(HARMLESS_FILE_RULES)]
    return dg.AssetCheckResult(
        passed=failed.empty,
        metadata={
            "rule": "no landed file is quarantined whole",
            "quarantined_files": len(failed),
            "by_rule": failed["rule"].value_counts().to_dict(),
            "duplicate_files": len(files) - len(failed),
            "files": _sample(files.drop(columns="row_data")),
        },
    )


@dg.asset_check(asset=raw_ticks, partitions_def=trading_day_partitions)
def ticks_follow_vendor_running_total(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    """In trade order, each stored trade raises its symbol's running total of the day by at least its own
    volume. A smaller step is a trade counted twice or out of order. Shares the running total counts that no
    stored trade carries (a vendor file that starts mid-session, quarantined trades) are reported, not failed."""
    start, end = window(context)
    with warehouse.connect() as conn:
        broken = running_total_breaks(conn, start, end)
        uncovered_days, uncovered = uncovered_shares(conn, start, end)
    return dg.AssetCheckResult(
        passed=broken.empty,
        metadata={
            "rule": RUNNING_TOTAL_RULE,
            "breaking_trades": len(broken),
            "sample": _sample(broken),
            "symbol_days_not_fully_covered": uncovered_days,
            "shares_not_covered": uncovered,
        },
    )


def _ohlc_check(asset: dg.AssetsDefinition, table: str) -> dg.AssetChecksDefinition:
    description = f"OHLC ordering holds on every {table} row: high ≥ max(open, close) ≥ min(open, close) ≥ low."

    @dg.asset_check(asset=asset, name="ohlc_consistent", partitions_def=trading_day_partitions, description=description)
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        start, end = window(context)
        offending = ohlc_violations(warehouse.read_partition(table, start, end))
        return dg.AssetCheckResult(
            passed=offending.empty,
            metadata={"rule": "high >= max(open, close), low <= min(open, close), volume >= 0",
                      "offending_rows": len(offending), "sample": _sample(offending)},
        )  # fmt: skip

    return _check


@dg.asset_check(asset=ohlcv_1d, partitions_def=trading_day_partitions, additional_deps=[ohlcv_1m, raw_ticks])
def volume_reconciles(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """For days built from ticks, 1-minute volumes sum to the daily volume, which equals the tick volume."""
    start, end = window(context)
    with warehouse.connect() as conn:  # per symbol-day sums: the trades themselves stay on the server
        minute = volume_by_symbol_day(conn, "market.ohlcv_1m", start, end)
        ticks = volume_by_symbol_day(conn, "market.raw_ticks", start, end)
    mismatches = volume_mismatches(warehouse.read_partition("market.ohlcv_1d", start, end), minute, ticks)
    return dg.AssetCheckResult(
        passed=mismatches.empty,
        metadata={"rule": "sum(1m volume) == daily volume == sum(tick volume)",
                  "mismatches": len(mismatches), "sample": _sample(mismatches)},
    )  # fmt: skip


@dg.asset_check(asset=ohlcv_1d, partitions_def=trading_day_partitions, additional_deps=[listings])
def listed_symbols_complete(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    """Each listed symbol has a daily bar or is recorded in market.untraded for the day."""
    start, end = window(context)
    missing = missing_bars(
        warehouse.read_partition("market.listings", start, end),
        warehouse.read_partition("market.ohlcv_1d", start, end),
        warehouse.read_partition("market.untraded", start, end),
    )
    rule = "every listed symbol has a daily bar or a market.untraded record"
    return dg.AssetCheckResult(
        passed=missing.empty, metadata={"rule": rule, "missing": len(missing), "sample": _sample(missing)}
    )


CHECKS = [
    raw_ticks_obey_market_rules,
    vendor_files_ingested,
    ticks_follow_vendor_running_total,
    _ohlc_check(ohlcv_1d, "market.ohlcv_1d"),
    _ohlc_check(ohlcv_1m, "market.ohlcv_1m"),
    volume_reconciles,
    listed_symbols_complete,
]
