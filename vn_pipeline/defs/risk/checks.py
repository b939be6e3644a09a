"""WARN checks: the day's book against the risk limits in RiskLimitsResource, and the trading alerts (drawdown
levels, losing streak, a day's loss) on each reported day; the alerts sensor turns their failures into alerts."""

import dagster as dg
import pandas as pd

from vn_pipeline.defs.common import table, window
from vn_pipeline.defs.partitions import trading_day_partitions
from vn_pipeline.defs.resources import RiskLimitsResource, WarehouseResource
from vn_pipeline.defs.risk.assets import risk_report
from vn_pipeline.defs.trading_alerts import Books, trading_alert_checks
from vn_pipeline.lib.alerts.store import book_equity, reported_books
from vn_pipeline.lib.risk.limits import drawdowns_as_losses, read_limit
from vn_pipeline.lib.risk.report import DRAWDOWN, TOP1_WEIGHT, VAR_HIST_95
from vn_pipeline.lib.risk.store import load_summary


def _summary(warehouse: WarehouseResource, context, metrics: tuple[str, ...]) -> pd.DataFrame:
    start, end = window(context)
    with warehouse.connect() as conn:
        return load_summary(conn, start, end, list(metrics))


def _limit_result(rows: pd.DataFrame, limit: float, rule: str) -> dg.AssetCheckResult:
    reading = read_limit(rows, limit)
    breaches = reading.breaches
    return dg.AssetCheckResult(
        passed=breaches.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "rule": rule,
            "limit": limit,
            "days_checked": reading.days_checked,
            "worst": reading.worst,
            "breaches": table(breaches),
        },
    )


@dg.asset_check(asset=risk_report, partitions_def=trading_day_partitions)
def drawdown_within_limit(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, risk_limits: RiskLimitsResource
) -> dg.AssetCheckResult:
    """The book's drawdown from its peak stays within risk_limits.max_drawdown."""
    rows = drawdowns_as_losses(_summary(warehouse, context, (DRAWDOWN,)))
    return _limit_result(rows, risk_limits.max_drawdown, "drawdown from peak <= max_drawdown")


@dg.asset_check(asset=risk_report, partitions_def=trading_day_partitions)
def var_within_limit(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, risk_limits: RiskLimitsResource
) -> dg.AssetCheckResult:
    """One-day historical VaR at 95% stays within risk_limits.max_var_95 of NAV."""
    rows = _summary(warehouse, context, (VAR_HIST_95,))
    return _limit_result(rows, risk_limits.max_var_95, "historical VaR 95% <= max_var_95 of NAV")


@dg.asset_check(asset=risk_report, partitions_def=trading_day_partitions)
def single_name_weight_within_limit(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, risk_limits: RiskLimitsResource
) -> dg.AssetCheckResult:
    """No single name weighs more than risk_limits.max_single_name_weight of NAV."""
    rows = _summary(warehouse, context, (TOP1_WEIGHT,))
    return _limit_result(rows, risk_limits.max_single_name_weight, "largest position weight <= max_single_name_weight")


def _reported_books(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> Books:
    """Each book the report covered in the window, judged on its reported days (its equity from the backtest)."""
    start, end = window(context)
    with warehouse.connect() as conn:
        return [(s, book_equity(conn, s, end), days) for s, days in reported_books(conn, start, end).items()]


CHECKS = [
    drawdown_within_limit,
    var_within_limit,
    single_name_weight_within_limit,
    *trading_alert_checks(risk_report, _reported_books, partitioned=True),
]
