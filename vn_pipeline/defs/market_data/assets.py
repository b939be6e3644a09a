"""Market-data assets: listings, raw ticks, vendor daily bars, 1-minute and daily OHLCV, foreign and
proprietary flows, corporate actions and index levels.

Every asset is trading-day partitioned and accepts a multi-day window in one run (BackfillPolicy.single_run),
so two years of history is one run, not five hundred. The source datasets come from the configured
``MarketSource``; the assets never ask which source it is.
"""

from datetime import date

import dagster as dg
import pandas as pd

from vn_pipeline.defs.common import COMMON as SHARED
from vn_pipeline.defs.common import LISTINGS, logged_result, window
from vn_pipeline.defs.resources import MarketSourceResource, WarehouseResource
from vn_pipeline.lib.market_data.bar_rules import untraded_symbols
from vn_pipeline.lib.market_data.bars import combine_daily, daily_bars_from_ticks, minute_bars
from vn_pipeline.lib.market_data.kept import ticks_to_write, with_kept
from vn_pipeline.lib.market_data.tick_rules import validate_ticks
from vn_pipeline.lib.sources.protocol import Dataset, MarketSource
from vn_pipeline.lib.warehouse.quarantine import read_quarantine

COMMON = {**SHARED, "group_name": "market_data", "owners": ["team:market-data"]}


def _source(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, market: MarketSourceResource
) -> MarketSource:
    return market.source(warehouse, context.run_id)


def _not_provided(
    context: dg.AssetExecutionContext, source: MarketSource, dataset: Dataset, start: date, end: date
) -> dg.MaterializeResult:
    """Reported once, and the warehouse keeps what it holds for the window: nothing is replaced by nothing."""
    context.log.warning(f"source {source.name!r} provides no {dataset}: stored rows for {start} → {end} are kept")
    return logged_result(context, pd.DataFrame(), start, end, provided=False, **source.metadata)


def _write_dataset(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    market: MarketSourceResource,
    dataset: Dataset,
    table: str,
) -> dg.MaterializeResult:
    """A dataset the source hands over as it is: the window's rows replace the stored window."""
    start, end = window(context)
    source = _source(context, warehouse, market)
    if dataset not in source.provides:
        return _not_provided(context, source, dataset, start, end)
    frame = getattr(source, dataset)(start, end)
    quarantined = source.quarantined(dataset, start, end)
    warehouse.write_partition(table, frame, start, end, quarantine=quarantined)
    rejected = {} if quarantined is None else {"quarantined": len(quarantined)}
    return logged_result(context, frame, start, end, **rejected, **source.metadata)


@dg.asset(key=LISTINGS, kinds={"timescaledb", "python"}, **COMMON)
def listings(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, market_source: MarketSourceResource
) -> dg.MaterializeResult:
    """Symbols listed each trading day with exchange, sector, reference price and the day's ceiling and floor
    (integer VND, rounded to the tick as the exchange does). Every price check downstream uses these limits."""
    start, end = window(context)
    source = _source(context, warehouse, market_source)
    batch = source.listings(start, end)
    if batch is None:
        context.log.info(f"{source.name}: nothing for {start} → {end}; stored listings are kept")
        return logged_result(context, pd.DataFrame(), start, end, **source.metadata)
    for warning in batch.warnings:
        context.log.warning(warning)
    with warehouse.connect() as conn:
        frame = with_kept(conn, "market.listings", batch.listings, batch.kept)
    warehouse.write_partition("market.listings", frame, start, end)
    return logged_result(context, frame, start, end, **source.metadata)


@dg.asset(key=["market", "daily_bars"], kinds={"timescaledb", "python"}, **COMMON)
def daily_bars(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, market_source: MarketSourceResource
) -> dg.MaterializeResult:
    """Vendor end-of-day bars as delivered (open, high, low, close, volume, value in VND), the only record
    of history days that have no ticks."""
    return _write_dataset(context, warehouse, market_source, "daily_bars", "market.daily_bars")


@dg.asset(key=["market", "raw_ticks"], deps=[listings], kinds={"timescaledb", "python"}, **COMMON)
def raw_ticks(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, market_source: MarketSourceResource
) -> dg.MaterializeResult:
    """Every matched trade: time (Asia/Ho_Chi_Minh), price (VND), volume, aggressor side and session
    (ATO/CONT/ATC/PLO). Trades that break a market rule go to market.quarantine with the rule they broke."""
    start, end = window(context)
    batch = _source(context, warehouse, market_source).ticks(start, end)
    if batch is None:
        # History without ticks: keep whatever ticks were stored for these days rather than erase them.
        context.log.info(f"no intraday source for {start} → {end}; stored ticks are kept")
        return logged_result(context, pd.DataFrame(), start, end, quarantined=0)
    first = batch.first_day
    day_listings = warehouse.read_partition("market.listings", first, end)
    checked = validate_ticks(batch.ticks, day_listings, source="market.raw_ticks batch", origin=batch.origins)
    with warehouse.connect() as conn:
        good, quarantined = ticks_to_write(conn, batch, checked)
    if batch.incomplete:
        context.log.warning(f"vendor files missing part of the session (shares): {batch.incomplete}")
    for path, reason in batch.quarantined_files.items():
        context.log.error(f"landing file quarantined: {path}: {reason}")
    warehouse.write_partition("market.raw_ticks", good, first, end, quarantine=quarantined)
    by_rule = quarantined["rule"].value_counts().to_dict() if len(quarantined) else {}
    return logged_result(
        context, good, first, end, quarantined=len(quarantined), by_rule=by_rule,
        incomplete_files=batch.incomplete, quarantined_files=batch.quarantined_files,
        kept_from_store=[f"{s} {d}" for d, s in batch.kept.itertuples(index=False)],
    )  # fmt: skip


@dg.asset(key=["market", "ohlcv_1m"], deps=[raw_ticks], kinds={"timescaledb", "python"}, **COMMON)
def ohlcv_1m(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """One-minute bars built from raw ticks: OHLC, volume, value, VWAP, trade count, buy/sell volume.
    No bar spans the lunch break; auction prints sit in the minute the exchange stamps them."""
    start, end = window(context)
    bars = minute_bars(warehouse.read_partition("market.raw_ticks", start, end))
    warehouse.write_partition("market.ohlcv_1m", bars, start, end)
    return logged_result(context, bars, start, end)


@dg.asset(key=["market", "ohlcv_1d"], deps=[raw_ticks, daily_bars, listings], kinds={"timescaledb", "python"}, **COMMON)
def ohlcv_1d(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Daily bars: built from ticks where the day has them (with VWAP, aggressor volumes, ATO and ATC prices),
    from the vendor's daily bar otherwise; `source` says which. Listed symbols without either are recorded
    in market.untraded."""
    start, end = window(context)
    from_ticks = daily_bars_from_ticks(warehouse.read_partition("market.raw_ticks", start, end))
    bars = combine_daily(from_ticks, warehouse.read_partition("market.daily_bars", start, end))
    listed = warehouse.read_partition("market.listings", start, end, columns=["trading_date", "symbol"])
    with warehouse.connect() as conn:
        quarantined = read_quarantine(conn, "market.raw_ticks", start, end)[["trading_date", "symbol"]]
    untraded = untraded_symbols(listed, bars, quarantined)
    warehouse.write_partition("market.ohlcv_1d", bars, start, end)
    warehouse.write_partition("market.untraded", untraded, start, end)
    by_source = bars["source"].value_counts().to_dict() if len(bars) else {}
    return logged_result(context, bars, start, end, untraded=len(untraded), by_source=by_source)


@dg.asset(key=["market", "foreign_flows"], deps=[listings], kinds={"timescaledb", "python"}, **COMMON)
def foreign_flows(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, market_source: MarketSourceResource
) -> dg.MaterializeResult:
    """Daily foreign investor buy and sell volume and value (VND) per symbol, and the remaining foreign room
    in shares."""
    return _write_dataset(context, warehouse, market_source, "foreign_flows", "market.foreign_flows")


@dg.asset(key=["market", "proprietary_flows"], deps=[listings], kinds={"timescaledb", "python"}, **COMMON)
def proprietary_flows(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, market_source: MarketSourceResource
) -> dg.MaterializeResult:
    """Daily proprietary (securities companies' own-account) buy and sell volume and value (VND) per symbol.
    Sparse: a symbol appears on the days a desk traded it. Sources without such data (the simulator) leave the
    stored rows alone."""
    return _write_dataset(context, warehouse, market_source, "proprietary_flows", "market.proprietary_flows")


@dg.asset(key=["market", "corporate_actions"], kinds={"timescaledb", "python"}, **COMMON)
def corporate_actions(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, market_source: MarketSourceResource
) -> dg.MaterializeResult:
    """Stock dividends by ex-date: ratio (new shares per old share) and the reference price before and after
    the exchange adjusted it. Adjusted prices for features are built from these."""
    return _write_dataset(context, warehouse, market_source, "corporate_actions", "market.corporate_actions")


@dg.asset(key=["market", "index_levels"], deps=[listings, daily_bars], kinds={"timescaledb", "python"}, **COMMON)
def index_levels(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, market_source: MarketSourceResource
) -> dg.MaterializeResult:
    """VN30 index levels (open, high, low, close in points, base 1000 at the simulation's start): the
    cap-weighted return of its 30 constituents against their reference prices, 10% cap per stock."""
    return _write_dataset(context, warehouse, market_source, "index_levels", "market.index_levels")


ASSETS = [
    listings, daily_bars, raw_ticks, ohlcv_1m, ohlcv_1d, foreign_flows, proprietary_flows, corporate_actions,
    index_levels,
]  # fmt: skip
