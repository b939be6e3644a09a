"""Daily-bar backtester under Vietnamese trading rules (fees + sale tax, board lots, T+2.5, price limits)."""

from vn_pipeline.lib.backtest.rules import Rules
from vn_pipeline.lib.backtest.runner import BacktestResult, run_backtest

__all__ = ["BacktestResult", "Rules", "run_backtest"]
