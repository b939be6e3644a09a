import itertools

import numpy as np
import pandas as pd
import pytest

from vn_pipeline.lib.backtest.strategies import topk_dropout


def _scores(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, index=pd.date_range("2026-01-05", periods=len(rows), freq="B").date)


def test_topk_dropout_replaces_only_the_worst_n_holdings():
    scores = _scores([
        {"A": 5, "B": 4, "C": 3, "D": 2, "E": 1},
        {"A": 1, "B": 4, "C": 3, "D": 5, "E": 2},  # A fell to the bottom, D is now best
    ])  # fmt: skip
    w = topk_dropout(scores, k=3, n_drop=1)
    assert set(w.iloc[0][w.iloc[0] > 0].index) == {"A", "B", "C"}
    assert set(w.iloc[1][w.iloc[1] > 0].index) == {"B", "C", "D"}  # only A (worst held) dropped
    assert w.iloc[1].sum() == pytest.approx(1.0)


def test_no_decision_between_rebalances_and_limited_turnover():
    rng = np.random.default_rng(0)
    scores = _scores([dict(zip("ABCDEFGH", rng.normal(size=8), strict=True)) for _ in range(6)])
    w = topk_dropout(scores, k=4, n_drop=1, rebalance_every=2)
    assert w.iloc[[1, 3, 5]].isna().all().all()
    books = [set(row[row > 0].index) for _, row in w.iloc[[0, 2, 4]].iterrows()]
    assert all(len(a - b) <= 1 for a, b in itertools.pairwise(books))
