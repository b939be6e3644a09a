"""Report rendering: small PNG charts (files linked from Dagster metadata) and self-contained HTML tearsheets.

Plain Python + matplotlib (Agg canvas, no pyplot); no Dagster imports, so assets and the CLI can both use it.
"""

from vn_pipeline.lib.reports.charts import (
    bar_chart,
    drawdown_chart,
    equity_chart,
    exposure_chart,
    png_data_uri,
    png_markdown,
    rebase_benchmark,
    rolling_sharpe_chart,
)
from vn_pipeline.lib.reports.formatting import format_value
from vn_pipeline.lib.reports.tearsheet import backtest_tearsheet, risk_tearsheet, write_html

__all__ = [
    "backtest_tearsheet",
    "bar_chart",
    "drawdown_chart",
    "equity_chart",
    "exposure_chart",
    "format_value",
    "png_data_uri",
    "png_markdown",
    "rebase_benchmark",
    "risk_tearsheet",
    "rolling_sharpe_chart",
    "write_html",
]
