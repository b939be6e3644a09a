"""What the risk report shows: the latest day's summary, stress table and chart files in metadata, and its HTML
tearsheet, under the state dir."""

from datetime import date
from typing import Any

import dagster as dg
import pandas as pd

from vn_pipeline.defs.common import chart, table
from vn_pipeline.lib.paths import state_dir
from vn_pipeline.lib.reports import charts
from vn_pipeline.lib.reports.tearsheet import risk_tearsheet, write_html
from vn_pipeline.lib.risk.inputs import RiskInputs
from vn_pipeline.lib.risk.report import HEADLINE, RiskReport


def tearsheet_dir():
    return state_dir() / "reports" / "risk"


def report_metadata(day: date, strategy: str, report: RiskReport, inputs: RiskInputs) -> dict[str, Any]:
    equity = inputs.equity.loc[inputs.equity.index <= day, strategy].dropna()
    html = risk_tearsheet(day, strategy, report.summary, report.positions.reset_index(), report.stress, equity)
    path = write_html(html, tearsheet_dir(), f"{strategy}_{day}.html")
    summary = pd.Series(report.summary, name="value", dtype=float).to_frame()
    images = {
        "weights": charts.bar_chart(report.positions["weight"], "Position weights"),
        "var_by_position": charts.bar_chart(report.positions["var_hist_95"], "Historical VaR 95% by position"),
        "drawdown": charts.drawdown_chart(equity),
    }
    return {
        "as_of": str(day),
        "summary": table(summary, index="metric"),
        "stress": table(report.stress),
        **{
            f"{name}_chart": chart(png, tearsheet_dir() / f"{strategy}_{day}_{name}.png")
            for name, png in images.items()
        },
        "tearsheet": dg.MetadataValue.path(str(path)),
        **{k: float(report.summary[k]) for k in HEADLINE if k in report.summary},
    }
