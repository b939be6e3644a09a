"""Market-data assets: listings, raw ticks, vendor daily bars, 1-minute and daily OHLCV, foreign flows.

Every asset is trading-day partitioned and accepts a multi-day window in one run (BackfillPolicy.single_run),
so two years of history is one run, not five hundred.
"""

from datetime import date, timedelta

import dagster as dg
import pandas as pd

from vn_pipeline.defs.partitions import trading_days
from vn_pipeline.defs.resources import MarketSourceResource, WarehouseResource
from vn_pipeline.lib.bar_rules import untraded_symbols
from vn_pipeline.lib.bars import combine_daily, daily_bars_from_ticks, minute_bars
from vn_pipeline.lib.market.calendar import trading_days as calendar_days
from vn_pipeline.lib.sources.benchmarks import simulated_vn30
from vn_pipeline.lib.sources.landing import EXCHANGES_FILE, FILE_RULES, LandedDay
from vn_pipeline.lib.tick_rules import validate_ticks
from vn_pipeline.lib.warehouse.quarantine import read_quarantine
from vn_pipeline.lib.warehouse.reads import closes_before, read_symbol_days

COMMON = {
    "partitions_def": trading_days,
    "backfill_policy": dg.BackfillPolicy.single_run(),
    "group_name": "market_data",
    "owners": ["team:market-data"],
}


def window(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> tuple[date, date]:
    """First and last trading date (inclusive) of the run's partition window."""
    time_window = context.partition_time_window
    return time_window.start.date(), (time_window.end - timedelta(days=1)).date()


def logged_result(
    context: dg.AssetExecutionContext, frame: pd.DataFrame, start: date, end: date, **extra: object
) -> dg.MaterializeResult:
    """Log what was written (the demo's progress) and return it as the materialization's metadata."""
    symbols = frame["symbol"].nunique() if len(frame) else 0
    metadata = {"rows": len(frame), "symbols": symbols, "window": f"{start} → {end}", **extra}
    context.log.info(f"{context.asset_key.to_user_string()}: {len(frame):,} rows, {symbols} symbols, {start} → {end}")
    return dg.MaterializeResult(metadata=metadata)


def _not_provided(context: dg.AssetExecutionContext, market_source: MarketSourceResource) -> pd.DataFrame:
    context.log.warning(f"source {market_source.kind!r} provides no {context.asset_key.to_user_string()}")
    return pd.DataFrame(columns=["trading_date", "symbol"])


@dg.asset(key=["market", "listings"], kinds={"timescaledb", "python"}, **COMMON)
def listings(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, market_source: MarketSourceResource
) -> dg.MaterializeResult:
    """Symbols listed each trading day with exchange, sector, reference price and the day's ceiling and floor
    (integer VND, rounded to the tick as the exchange does). Every price check downstream uses these limits."""
    start, end = window(context)
    simulator = market_source.simulator()
    if simulator is not None:
        frame = simulator.listings(start, end)
    else:
        landed = _landed(market_source, warehouse, start, end)
        if landed is None:
            context.log.info(f"no landed files for {start} → {end}; stored listings are kept")
            return logged_result(context, pd.DataFrame(), start, end)
        inferred = sorted(landed.listings.loc[landed.listings["exchange_inferred"], "symbol"])
        if inferred:
            context.log.warning(f"exchange inferred from the trades (add them to {EXCHANGES_FILE}): {inferred}")
        frame = _with_kept(warehouse, "market.listings", landed.listings, landed)
    warehouse.write_partition("market.listings", frame, start, end)
    return logged_result(context, frame, start, end)


def _landed(
    market_source: MarketSourceResource, warehouse: WarehouseResource, start: date, end: date
) -> LandedDay | None:
    with warehouse.connect() as conn:
        closes = closes_before(conn, start, end)
    return market_source.land_window(start, end, closes)


def _with_kept(warehouse: WarehouseResource, table: str, frame: pd.DataFrame, landed: LandedDay) -> pd.DataFrame:
    """``frame`` plus the stored rows of the symbol-days none of whose files could be used: a bad file never
    replaces what the warehouse holds by nothing."""
    if landed.kept.empty:
        return frame
    with warehouse.connect() as conn:
        kept = read_symbol_days(conn, table, landed.kept, columns=list(frame.columns))
    return pd.concat([frame, kept], ignore_index=True) if len(kept) else frame


@dg.asset(key=["market", "daily_bars"], kinds={"timescaledb", "python"}, **COMMON)
def daily_bars(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, market_source: MarketSourceResource
) -> dg.MaterializeResult:
    """Vendor end-of-day bars as delivered (open, high, low, close, volume, value in VND), the only record
    of history days that have no ticks."""
    start, end = window(context)
    simulator = market_source.simulator()
    frame = simulator.daily_bars(start, end) if simulator else _not_provided(context, market_source)
    warehouse.write_partition("market.daily_bars", frame, start, end)
    return logged_result(context, frame, start, end)


def _source_ticks(
    market_source: MarketSourceResource, warehouse: WarehouseResource, start: date, end: date
) -> tuple[LandedDay, date] | None:
    """The window's ticks and the first day they cover; None when the source has no ticks for the window."""
    simulator = market_source.simulator()
    if simulator is None:
        landed = _landed(market_source, warehouse, start, end)
        return (landed, start) if landed else None
    first = max(start, market_source.first_intraday_day())
    if first > end:
        return None
    ticks = pd.concat([simulator.ticks(day) for day in calendar_days(first, end)], ignore_index=True)
    nothing = pd.DataFrame(columns=["trading_date", "symbol"])
    return LandedDay(listings=nothing, ticks=ticks, origins=None, quarantined=nothing, kept=nothing), first


@dg.asset(key=["market", "raw_ticks"], deps=[listings], kinds={"timescaledb", "python"}, **COMMON)
def raw_ticks(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, market_source: MarketSourceResource
) -> dg.MaterializeResult:
    """Every matched trade: time (Asia/Ho_Chi_Minh), price (VND), volume, aggressor side and session
    (ATO/CONT/ATC/PLO). Trades that break a market rule go to market.quarantine with the rule they broke."""
    start, end = window(context)
    sourced = _source_ticks(market_source, warehouse, start, end)
    if sourced is None:
        # History without ticks: keep whatever ticks were stored for these days rather than erase them.
        context.log.info(f"no intraday source for {start} → {end}; stored ticks are kept")
        return logged_result(context, pd.DataFrame(), start, end, quarantined=0)
    landed, first = sourced
    day_listings = warehouse.read_partition("market.listings", first, end)
    checked = validate_ticks(landed.ticks, day_listings, source="market.raw_ticks batch", origin=landed.origins)
    found = [q for q in (landed.quarantined, checked.quarantined, _kept_quarantine(warehouse, landed)) if len(q)]
    quarantined = pd.concat(found, ignore_index=True) if found else checked.quarantined
    if landed.incomplete:
        context.log.warning(f"vendor files missing part of the session (shares): {landed.incomplete}")
    for path, reason in landed.quarantined_files.items():
        context.log.error(f"landing file quarantined: {path}: {reason}")
    good = _with_kept(warehouse, "market.raw_ticks", checked.good, landed)
    warehouse.write_partition("market.raw_ticks", good, first, end, quarantine=quarantined)
    by_rule = quarantined["rule"].value_counts().to_dict() if len(quarantined) else {}
    return logged_result(
        context, good, first, end, quarantined=len(quarantined), by_rule=by_rule,
        incomplete_files=landed.incomplete, quarantined_files=landed.quarantined_files,
        kept_from_store=[f"{s} {d}" for d, s in landed.kept.itertuples(index=False)],
    )  # fmt: skip


def _kept_quarantine(warehouse: WarehouseResource, landed: LandedDay) -> pd.DataFrame:
    """The stored quarantine rows of kept symbol-days stay with their kept ticks (file records are made anew)."""
    if landed.kept.empty:
        return pd.DataFrame()
    start, end = min(landed.kept["trading_date"]), max(landed.kept["trading_date"])
    with warehouse.connect() as conn:
        stored = read_quarantine(conn, "market.raw_ticks", start, end)
    keys = pd.MultiIndex.from_frame(stored[["trading_date", "symbol"]])
    mine = keys.isin(pd.MultiIndex.from_frame(landed.kept)) & ~stored["rule"].isin(FILE_RULES)
    return stored[mine].assign(source_table="market.raw_ticks")


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
    start, end = window(context)
    simulator = market_source.simulator()
    frame = simulator.foreign_flows(start, end) if simulator else _not_provided(context, market_source)
    warehouse.write_partition("market.foreign_flows", frame, start, end)
    return logged_result(context, frame, start, end)


@dg.asset(key=["market", "corporate_actions"], kinds={"timescaledb", "python"}, **COMMON)
def corporate_actions(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, market_source: MarketSourceResource
) -> dg.MaterializeResult:
    """Stock dividends by ex-date: ratio (new shares per old share) and the reference price before and after
    the exchange adjusted it. Adjusted prices for features are built from these."""
    start, end = window(context)
    simulator = market_source.simulator()
    frame = (
        simulator.corporate_actions(start, end).rename(columns={"ex_date": "trading_date"})
        if simulator
        else _not_provided(context, market_source)
    )
    warehouse.write_partition("market.corporate_actions", frame, start, end)
    return logged_result(context, frame, start, end)


@dg.asset(key=["market", "index_levels"], deps=[listings, daily_bars], kinds={"timescaledb", "python"}, **COMMON)
def index_levels(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, market_source: MarketSourceResource
) -> dg.MaterializeResult:
    """VN30 index levels (open, high, low, close in points, base 1000 at the simulation's start): the
    cap-weighted return of its 30 constituents against their reference prices, 10% cap per stock."""
    start, end = window(context)
    simulator = market_source.simulator()
    if simulator is None:
        frame = _not_provided(context, market_source).drop(columns="symbol").assign(index_code=None)
    else:
        frame = simulated_vn30(simulator, end)
        frame = frame[frame["trading_date"] >= start].assign(index_code="VN30")
    warehouse.write_partition("market.index_levels", frame, start, end)
    return logged_result(context, frame.assign(symbol=frame.get("index_code")), start, end)


ASSETS = [listings, daily_bars, raw_ticks, ohlcv_1m, ohlcv_1d, foreign_flows, corporate_actions, index_levels]
