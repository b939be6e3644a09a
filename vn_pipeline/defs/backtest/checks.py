"""Blocking checks on every traded backtest, run on the rows read back from the warehouse: cash never goes
negative (no margin), and every stored fill respects the lot, band, T+2 and signal-timing rules. WARN checks:
the trading alerts (drawdown levels, losing streak, a day's loss) on the book's last day."""

from datetime import date

import dagster as dg

from vn_pipeline.defs.backtest.assets import STRATEGY_ASSETS
from vn_pipeline.defs.backtest.inputs import BacktestConfig
from vn_pipeline.defs.common import table
from vn_pipeline.defs.resources import WarehouseResource
from vn_pipeline.defs.trading_alerts import Books, trading_alert_checks
from vn_pipeline.lib.alerts.store import book_equity
from vn_pipeline.lib.backtest import Rules
from vn_pipeline.lib.backtest.audit import fill_violations
from vn_pipeline.lib.backtest.inputs import bar_panels
from vn_pipeline.lib.backtest.store import load_fills, load_run, lowest_cash


def _run_window_and_rules(warehouse: WarehouseResource, strategy: str) -> tuple[date, date, Rules]:
    with warehouse.connect() as conn:
        row = load_run(conn, strategy)
    if row is None:
        raise ValueError(f"backtest.runs has no run of {strategy!r}: materialize backtest/{strategy} first")
    start, end, params = row
    return start, end, BacktestConfig.rules_of_run(params)


def _checks_for(strategy: str, asset: dg.AssetsDefinition) -> list[dg.AssetChecksDefinition]:
    @dg.asset_check(asset=asset, name="cash_never_negative", blocking=True)
    def cash_never_negative(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        """The book never spends money it does not have (no margin for retail in Vietnam)."""
        with warehouse.connect() as conn:
            lowest = lowest_cash(conn, strategy)
        passed = lowest is not None and lowest >= 0
        return dg.AssetCheckResult(passed=passed, metadata={"lowest_cash": float(lowest or 0)})

    @dg.asset_check(asset=asset, name="fills_follow_exchange_rules", blocking=True)
    def fills_follow_exchange_rules(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        """Every stored fill is in whole lots (a sale may add the odd lot bonus shares left), at the configured
        price inside the day's band, not at a locked limit or on a no-trade day, sells only settled (T+2) and
        listed shares, and comes strictly after the signal it executes."""
        start, end, rules = _run_window_and_rules(warehouse, strategy)
        with warehouse.connect() as conn:
            fills = load_fills(conn, strategy)
            panels = bar_panels(conn, start, end)
        violations = fill_violations(fills, panels, rules)
        counts = violations["rule"].value_counts().to_dict()
        return dg.AssetCheckResult(
            passed=violations.empty,
            metadata={
                "fills": len(fills),
                "violations": len(violations),
                "by_rule": dg.MetadataValue.json({str(k): int(v) for k, v in counts.items()}),
                "first_violations": table(violations.head(20)),
            },
        )

    def last_day(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> Books:
        """The book as it stands after the backtest's last day: an alert is about now, not about 2013."""
        with warehouse.connect() as conn:
            equity = book_equity(conn, strategy)
        return [(strategy, equity, list(equity.index[-1:]))]

    return [cash_never_negative, fills_follow_exchange_rules, *trading_alert_checks(asset, last_day, partitioned=False)]


CHECKS = [check for strategy, asset in STRATEGY_ASSETS.items() for check in _checks_for(strategy, asset)]
