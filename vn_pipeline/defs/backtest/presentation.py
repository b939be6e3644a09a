"""What a backtest shows: stats and chart files in the asset's metadata (Dagster UI) and an HTML tearsheet, all
under the state dir."""

from typing import Any

import dagster as dg
import pandas as pd

from vn_pipeline.defs.common import chart, table
from vn_pipeline.lib.backtest.runner import BacktestResult
from vn_pipeline.lib.paths import state_dir
from vn_pipeline.lib.reports import charts
from vn_pipeline.lib.reports.tearsheet import backtest_tearsheet, write_html


def tearsheet_dir():
    return state_dir() / "reports" / "backtests"


def backtest_metadata(
    strategy: str, result: BacktestResult, benchmark: pd.Series | None, params: dict[str, Any]
) -> dict[str, Any]:
    """Stats (table and numbers), the four charts (PNG files) and the tearsheet path. ``benchmark``: VN30 daily
    returns."""
    levels = (1.0 + benchmark).cumprod() if benchmark is not None else None
    returns = result.equity.pct_change().fillna(0.0)
    images = {
        "equity": charts.equity_chart(result.equity, levels, f"{strategy}: equity vs VN30", benchmark_label="VN30"),
        "drawdown": charts.drawdown_chart(result.equity),
        "exposure": charts.exposure_chart(result.equity, result.cash),
        "rolling_sharpe": charts.rolling_sharpe_chart(returns),
    }
    html = backtest_tearsheet(strategy, result.equity, levels, result.cash, result.stats, result.trades, params)
    path = write_html(html, tearsheet_dir(), f"{strategy}.html")
    stats = pd.Series(result.stats, name="value", dtype=float).to_frame()
    return {
        "stats": table(stats, index="stat"),
        **{f"{name}_chart": chart(png, tearsheet_dir() / f"{strategy}_{name}.png") for name, png in images.items()},
        "tearsheet": dg.MetadataValue.path(str(path)),
        "fills": len(result.trades),
        "window": f"{result.equity.index[0]} → {result.equity.index[-1]}",
        **{k: float(v) for k, v in result.stats.items()},
    }


def overlay_metadata(exposure: pd.DataFrame) -> dict[str, Any]:
    """What the risk overlay did over the window: its average exposure, the days each filter kept the book out,
    how often it traded, and the last days' exposure (``exposure``: lib.backtest.overlay's per-day frame)."""
    if exposure.empty:
        return {}
    return {
        "overlay_mean_gross": float(exposure["planned_gross"].mean()),
        "overlay_mean_vol_scale": float(exposure["vol_scale"].mean()),
        "overlay_regime_off_days": int((~exposure["regime_on"]).sum()),
        "overlay_drawdown_off_days": int((~exposure["drawdown_on"]).sum()),
        "overlay_decisions": int(exposure["decision"].sum()),
        "overlay_exposure": table(exposure.tail(20), index="trading_date"),
    }
