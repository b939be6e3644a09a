"""Risk metrics of a long-only VN equity book: VaR / CVaR, volatility, beta, drawdowns, concentration,
liquidity (days to exit), Kelly sizing and stress scenarios. Plain numpy / pandas / scipy, no Dagster.

Sign and unit conventions are stated once at the top of ``metrics.py``: daily simple returns, 252 days a year,
VaR / CVaR / stress losses as positive fractions of NAV, drawdowns as negative fractions.
"""

from vn_pipeline.lib.risk.liquidity import average_daily_value, days_to_exit, foreign_room_usage, traded_value
from vn_pipeline.lib.risk.metrics import (
    TRADING_DAYS,
    annualized_volatility,
    beta,
    drawdown,
    equity_curve,
    half_kelly,
    historical_cvar,
    historical_var,
    kelly_fraction,
    max_drawdown,
    monte_carlo_var_cvar,
    parametric_cvar,
    parametric_var,
    simulate_portfolio_returns,
)
from vn_pipeline.lib.risk.portfolio import (
    LEVELS,
    hhi,
    level_tag,
    portfolio_returns,
    portfolio_risk,
    position_risk,
    top_weights,
)
from vn_pipeline.lib.risk.stress import WindowLoss, historical_window_loss, limit_down_loss, worst_drawdown_window

__all__ = [
    "LEVELS",
    "TRADING_DAYS",
    "WindowLoss",
    "annualized_volatility",
    "average_daily_value",
    "beta",
    "days_to_exit",
    "drawdown",
    "equity_curve",
    "foreign_room_usage",
    "half_kelly",
    "hhi",
    "historical_cvar",
    "historical_var",
    "historical_window_loss",
    "kelly_fraction",
    "level_tag",
    "limit_down_loss",
    "max_drawdown",
    "monte_carlo_var_cvar",
    "parametric_cvar",
    "parametric_var",
    "portfolio_returns",
    "portfolio_risk",
    "position_risk",
    "simulate_portfolio_returns",
    "top_weights",
    "traded_value",
    "worst_drawdown_window",
]
