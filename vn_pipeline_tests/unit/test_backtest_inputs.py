"""Helpers the backtest and risk assets use to shape their inputs."""

import numpy as np
import pandas as pd
import pytest

from vn_pipeline.defs.backtests.inputs import daily_returns, in_window

IDX = pd.date_range("2024-01-01", periods=6, freq="B").date


def test_a_gap_in_trading_moves_the_return_to_the_day_trading_resumes() -> None:
    close = pd.DataFrame({"A": [100.0, np.nan, np.nan, 110.0, 121.0, 121.0]}, index=IDX)
    r = daily_returns(close)["A"]
    assert r.iloc[3] == pytest.approx(0.10) and r.iloc[4] == pytest.approx(0.10)
    assert r.iloc[1:3].isna().all()  # no trade, no return: not a zero return


def test_the_window_starts_with_the_book_decided_during_the_warm_up() -> None:
    weights = pd.DataFrame({"A": [np.nan, 0.5, np.nan, np.nan, 0.0, np.nan]}, index=IDX)
    window = in_window(weights, IDX[2])
    assert window.index[0] == IDX[2] and window["A"].iloc[0] == 0.5  # carried in from the warm-up decision
    assert window["A"].iloc[1:].tolist()[1] == 0.0
    with pytest.raises(ValueError, match="window is empty"):
        in_window(weights, pd.Timestamp("2024-02-01").date())
