"""The trading alerts of the seeds, read on a book's daily equity: a drawdown beyond −10/−15/−20% from its peak,
N losing days in a row, one day's loss beyond a threshold. Each is judged per day on the equity up to that day's
close (what the book's owner knew that evening)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

import pandas as pd

DRAWDOWN_LEVELS = (0.10, 0.15, 0.20)
LOSING_DAYS = 5
MAX_DAY_LOSS = 0.05  # a 5% loss of NAV in one session (HOSE's band is ±7% per name)

COLUMNS = ["trading_date", "strategy", "value", "threshold"]


def daily_state(equity: pd.Series) -> pd.DataFrame:
    """Per day of ``equity`` (indexed by trading date, ascending): drawdown from the peak (≤ 0), the day's
    return, and how many losing days in a row end on that day."""
    equity = equity.sort_index().astype(float)
    returns = equity.pct_change()
    losing = returns < 0
    streak = losing.groupby((~losing).cumsum()).cumsum().astype(int)
    return pd.DataFrame({"drawdown": equity / equity.cummax() - 1.0, "return": returns, "losing_streak": streak})


def _rows(state: pd.DataFrame, days: Iterable[date], mask: pd.Series, value: pd.Series, strategy: str,
          threshold: pd.Series | float) -> pd.DataFrame:  # fmt: skip
    wanted = state.index.isin(list(days))
    hit = mask & wanted
    threshold_of = threshold[hit].to_numpy() if isinstance(threshold, pd.Series) else threshold
    return pd.DataFrame({"trading_date": state.index[hit], "strategy": strategy, "value": value[hit].to_numpy(),
                         "threshold": threshold_of})[COLUMNS]  # fmt: skip


def drawdown_breaches(
    equity: pd.Series, days: Iterable[date], strategy: str, levels: Sequence[float] = DRAWDOWN_LEVELS
) -> pd.DataFrame:
    """Days whose drawdown is beyond the smallest level; ``threshold`` is the deepest level it crossed (as a
    negative fraction, like the drawdown)."""
    state = daily_state(equity)
    ordered = sorted(levels)
    crossed = pd.Series(float("nan"), index=state.index)
    for level in ordered:
        crossed[state["drawdown"] < -level] = -level
    return _rows(state, days, crossed.notna(), state["drawdown"], strategy, crossed)


def losing_streaks(equity: pd.Series, days: Iterable[date], strategy: str, n: int = LOSING_DAYS) -> pd.DataFrame:
    """Days ending a run of at least ``n`` losing days."""
    state = daily_state(equity)
    return _rows(state, days, state["losing_streak"] >= n, state["losing_streak"], strategy, float(n))


def day_losses(equity: pd.Series, days: Iterable[date], strategy: str, max_loss: float = MAX_DAY_LOSS) -> pd.DataFrame:
    """Days whose return is a loss beyond ``max_loss``."""
    state = daily_state(equity)
    return _rows(state, days, state["return"] < -max_loss, state["return"], strategy, -max_loss)


def failed_days(breaches: pd.DataFrame) -> list[str]:
    """The ISO days of the breaches: what the alerts sensor reads (``failed_days``) to alert per day."""
    return sorted({pd.Timestamp(d).date().isoformat() for d in breaches["trading_date"]})
