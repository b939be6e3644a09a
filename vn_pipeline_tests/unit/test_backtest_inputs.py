"""Helpers the backtest and risk assets use to shape their inputs."""

import json

import numpy as np
import pandas as pd
import pytest

from vn_pipeline.defs.backtest.assets import TopkConfig
from vn_pipeline.defs.backtest.inputs import BacktestConfig
from vn_pipeline.lib.backtest.inputs import daily_returns, in_window, share_factor

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


def test_the_audit_rebuilds_the_rules_a_run_was_configured_with() -> None:
    config = TopkConfig(fill="close", sale_tax=0.002, bonus_lock_days=3, k=5)
    stored = json.loads(json.dumps(config.model_dump()))  # as backtest.runs.params holds it
    assert BacktestConfig.rules_of_run(stored) == config.rules()
    assert config.rules().bonus_lock_days == 3 and config.rules() != BacktestConfig().rules()


def test_bonus_issues_on_one_ex_date_add_up_and_other_actions_credit_nothing() -> None:
    like = pd.DataFrame(1.0, index=IDX, columns=["A", "B"])
    actions = pd.DataFrame(
        {
            "ex_date": [IDX[2], IDX[2], IDX[4], IDX[1]],
            "symbol": ["A", "A", "B", "B"],
            "kind": ["stock_dividend", "bonus_shares", "stock_dividend", "rights_issue"],
            "ratio": [0.1, 0.2, 0.5, 0.3],
        }
    )
    factor = share_factor(actions, like)
    assert factor.loc[IDX[2], "A"] == pytest.approx(1.3)  # both paid on the shares held before: not 1.1 × 1.2
    assert factor.loc[IDX[4], "B"] == 1.5 and factor.loc[IDX[1], "B"] == 1.0  # a rights issue has to be paid for
    assert (factor.drop(index=[IDX[2], IDX[4]]) == 1.0).all().all()
