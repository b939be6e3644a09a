"""The seeds' trading alerts as WARN asset checks (rules in vn_pipeline.lib.alerts.trading), shared by the
backtest books (judged on their last day) and the daily risk report (judged on each day of its window). A
failure names its days in ``failed_days``, so the alerts sensor alerts once per day, not once per window."""

from collections.abc import Callable
from datetime import date

import dagster as dg
import pandas as pd
from pydantic import Field

from vn_pipeline.defs.common import table
from vn_pipeline.defs.partitions import trading_day_partitions
from vn_pipeline.defs.resources import WarehouseResource
from vn_pipeline.lib.alerts.trading import (
    DRAWDOWN_LEVELS,
    LOSING_DAYS,
    MAX_DAY_LOSS,
    day_losses,
    drawdown_breaches,
    failed_days,
    losing_streaks,
)

# (strategy, its daily equity up to the last day judged, the days to judge)
Books = list[tuple[str, pd.Series, list[date]]]
BookLoader = Callable[[dg.AssetCheckExecutionContext, WarehouseResource], Books]


class TradingAlertsConfig(dg.Config):
    drawdown_levels: list[float] = Field(default_factory=lambda: list(DRAWDOWN_LEVELS))  # fractions from the peak
    losing_days: int = LOSING_DAYS  # this many losing days in a row
    max_day_loss: float = MAX_DAY_LOSS  # one day's loss, fraction of NAV


def _result(breaches: list[pd.DataFrame], books: Books, rule: str, **extra: object) -> dg.AssetCheckResult:
    found = pd.concat(breaches, ignore_index=True) if breaches else pd.DataFrame()
    return dg.AssetCheckResult(
        passed=found.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "rule": rule,
            "breach_days": len(found),
            "books": len(books),
            "failed_days": failed_days(found) if len(found) else [],
            "breaches": table(found.head(20)),
            **extra,
        },
    )


def trading_alert_checks(
    asset: dg.AssetsDefinition, books: BookLoader, partitioned: bool
) -> list[dg.AssetChecksDefinition]:
    """Three WARN checks on ``asset``: drawdown levels, losing streak, one day's loss."""
    partitions = {"partitions_def": trading_day_partitions} if partitioned else {}

    @dg.asset_check(asset=asset, name="drawdown_within_alert_levels", **partitions)
    def drawdown_within_alert_levels(
        context: dg.AssetCheckExecutionContext, config: TradingAlertsConfig, warehouse: WarehouseResource
    ) -> dg.AssetCheckResult:
        """The book's drawdown from its peak is not beyond the first alert level (−10%; −15% and −20% are
        named as the deepest level crossed)."""
        loaded = books(context, warehouse)
        found = [drawdown_breaches(eq, days, s, config.drawdown_levels) for s, eq, days in loaded]
        levels = ", ".join(f"-{level:.0%}" for level in sorted(config.drawdown_levels))
        return _result([f for f in found if len(f)], loaded, f"drawdown from peak not beyond {levels}")

    @dg.asset_check(asset=asset, name="no_long_losing_streak", **partitions)
    def no_long_losing_streak(
        context: dg.AssetCheckExecutionContext, config: TradingAlertsConfig, warehouse: WarehouseResource
    ) -> dg.AssetCheckResult:
        """The book has not lost money ``losing_days`` trading days in a row."""
        loaded = books(context, warehouse)
        found = [losing_streaks(eq, days, s, config.losing_days) for s, eq, days in loaded]
        return _result([f for f in found if len(f)], loaded, f"fewer than {config.losing_days} losing days in a row")

    @dg.asset_check(asset=asset, name="day_loss_within_threshold", **partitions)
    def day_loss_within_threshold(
        context: dg.AssetCheckExecutionContext, config: TradingAlertsConfig, warehouse: WarehouseResource
    ) -> dg.AssetCheckResult:
        """No single day loses more than ``max_day_loss`` of NAV."""
        loaded = books(context, warehouse)
        found = [day_losses(eq, days, s, config.max_day_loss) for s, eq, days in loaded]
        return _result([f for f in found if len(f)], loaded, f"one day's loss at most {config.max_day_loss:.0%}")

    return [drawdown_within_alert_levels, no_long_losing_streak, day_loss_within_threshold]
