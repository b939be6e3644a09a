"""risk/report: the evening risk report of a backtest's book, one partition per trading day."""

import dagster as dg
from pydantic import Field

from vn_pipeline.defs.common import BACKTESTS, COMMON, FOREIGN_FLOWS, TRADED_STRATEGIES, window
from vn_pipeline.defs.resources import WarehouseResource
from vn_pipeline.defs.risk.presentation import report_metadata
from vn_pipeline.lib.risk.daily import parse_stress_windows, window_reports
from vn_pipeline.lib.risk.inputs import read_risk_inputs
from vn_pipeline.lib.warehouse.writes import write_partition


class RiskReportConfig(dg.Config):
    """Which book, how much history, and the stress windows replayed besides the worst VN30 drawdown."""

    strategy: str = "topk"
    lookback_days: int = 250  # trailing trading days for VaR, volatility and beta
    participation: float = 0.2  # share of the 20-day average daily value an exit may take
    stress_windows: list[str] = Field(default_factory=list)  # extra replays, "name=YYYY-MM-DD..YYYY-MM-DD"
    seed: int = 0  # Monte Carlo VaR draws


@dg.asset(
    key=["risk", "report"],
    deps=[*(BACKTESTS[strategy] for strategy in TRADED_STRATEGIES), FOREIGN_FLOWS],
    **COMMON,
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
    extra = parse_stress_windows(config.stress_windows)
    with warehouse.connect() as conn:
        inputs = read_risk_inputs(
            conn, config.strategy, start, end, config.lookback_days, tuple(w.start for w in extra)
        )
    reports = window_reports(inputs, start, end, extra, config.participation, config.seed)
    with warehouse.connect() as conn, conn.transaction():
        for table, frame in reports.frames.items():
            write_partition(conn, table, frame, start, end)
    context.log.info(f"risk/report {config.strategy}: {start} → {end}, latest summary {reports.last_report.summary}")
    return dg.MaterializeResult(
        metadata=report_metadata(reports.last_day, config.strategy, reports.last_report, inputs)
    )


ASSETS = [risk_report]
