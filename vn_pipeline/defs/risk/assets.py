"""risk/report: the evening risk report of a backtest's book, one partition per trading day."""

import dagster as dg
import pandas as pd
from pydantic import Field

from vn_pipeline.defs.backtests.assets import STRATEGY_ASSETS
from vn_pipeline.defs.market_data.assets import foreign_flows, window
from vn_pipeline.defs.partitions import trading_days
from vn_pipeline.defs.resources import WarehouseResource
from vn_pipeline.defs.risk.inputs import read_risk_inputs
from vn_pipeline.defs.risk.presentation import report_metadata
from vn_pipeline.lib.market.calendar import trading_days as days_between
from vn_pipeline.lib.risk.report import RiskReport, StressWindow, build_report
from vn_pipeline.lib.warehouse.writes import write_partition


class RiskReportConfig(dg.Config):
    """Which book, how much history, and the stress windows replayed besides the worst VN30 drawdown."""

    strategy: str = "topk"
    lookback_days: int = 250  # trailing trading days for VaR, volatility and beta
    participation: float = 0.2  # share of the 20-day average daily value an exit may take
    stress_windows: list[str] = Field(default_factory=list)  # extra replays, "name=YYYY-MM-DD..YYYY-MM-DD"
    seed: int = 0  # Monte Carlo VaR draws


def _extra_windows(specs: list[str]) -> list[StressWindow]:
    windows = []
    for spec in specs:
        name, _, span = spec.partition("=")
        first, _, last = span.partition("..")
        if not (name and first and last):
            raise ValueError(f"stress window {spec!r}: expected name=YYYY-MM-DD..YYYY-MM-DD")
        windows.append(StressWindow(name, pd.Timestamp(first).date(), pd.Timestamp(last).date()))
    return windows


def _frames(day, strategy: str, report: RiskReport) -> dict[str, pd.DataFrame]:
    summary = pd.DataFrame({"metric": list(report.summary), "value": list(report.summary.values())})
    positions = report.positions.reset_index()
    return {
        "risk.summary": summary.assign(trading_date=day, strategy=strategy),
        "risk.positions": positions.assign(
            trading_date=day, strategy=strategy, shares=positions["shares"].astype("int64")
        ),
        "risk.stress": report.stress.assign(trading_date=day, strategy=strategy),
    }


@dg.asset(
    key=["risk", "report"],
    deps=[*STRATEGY_ASSETS.values(), foreign_flows],
    partitions_def=trading_days,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="risk",
    owners=["team:risk"],
    kinds={"timescaledb", "python"},
)
def risk_report(
    context: dg.AssetExecutionContext, config: RiskReportConfig, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """VaR/CVaR (historical, Gaussian, Monte Carlo; 95/99), volatility, beta to VN30, drawdown, concentration,
    days to exit at 20% of ADV20, foreign room, half-Kelly per strategy and stress losses, for each day of the
    window; everything for day D from data up to D's close."""
    start, end = window(context)
    extra = _extra_windows(config.stress_windows)
    starts = tuple(w.start for w in extra)
    inputs = read_risk_inputs(warehouse, config.strategy, start, end, config.lookback_days, starts)
    frames: dict[str, list[pd.DataFrame]] = {"risk.summary": [], "risk.positions": [], "risk.stress": []}
    for day in days_between(start, end):
        worst = StressWindow("worst_vn30_drawdown", *inputs.worst_vn30[day])
        replayable = [w for w in extra if w.end <= day]  # a window not yet over on D is not history on D
        report = build_report(inputs.book_on(day), [worst, *replayable], inputs.strategy_returns(day),
                              config.participation, config.seed)  # fmt: skip
        for table, frame in _frames(day, config.strategy, report).items():
            frames[table].append(frame)
    with warehouse.connect() as conn, conn.transaction():
        for table, parts in frames.items():
            write_partition(conn, table, pd.concat(parts, ignore_index=True), start, end)
    context.log.info(f"risk/report {config.strategy}: {start} → {end}, latest summary {report.summary}")
    return dg.MaterializeResult(metadata=report_metadata(day, config.strategy, report, inputs))


ASSETS = [risk_report]
