import itertools

import numpy as np
import pandas as pd
import pytest

from vn_pipeline.lib.backtest.strategies import topk_dropout


def _scores(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, index=pd.date_range("2026-01-05", periods=len(rows), freq="B").date)


def _book(row: pd.Series) -> set[str]:
    """Names held after a decision: bought (> 0) or kept (NaN)."""
    return set(row[(row > 0) | row.isna()].index)


def test_topk_dropout_replaces_only_the_worst_n_holdings():
    scores = _scores([
        {"A": 5, "B": 4, "C": 3, "D": 2, "E": 1},
        {"A": 1, "B": 4, "C": 3, "D": 5, "E": 2},  # A fell to the bottom, D is now best
    ])  # fmt: skip
    w = topk_dropout(scores, k=3, n_drop=1)
    assert _book(w.iloc[0]) == {"A", "B", "C"}
    assert _book(w.iloc[1]) == {"B", "C", "D"}  # only A (worst held) dropped


def test_no_decision_between_rebalances_and_limited_turnover():
    rng = np.random.default_rng(0)
    scores = _scores([dict(zip("ABCDEFGH", rng.normal(size=8), strict=True)) for _ in range(6)])
    w = topk_dropout(scores, k=4, n_drop=1, rebalance_days=2)
    assert w.iloc[[1, 3, 5]].isna().all().all()
    books = [_book(row) for _, row in w.iloc[[0, 2, 4]].iterrows()]
    assert all(len(a - b) <= 1 for a, b in itertools.pairwise(books))


def test_names_kept_in_the_book_are_left_alone_unless_the_whole_book_is_asked_for():
    scores = _scores([
        {"A": 5, "B": 4, "C": 3, "D": 2, "E": 1},
        {"A": 1, "B": 4, "C": 3, "D": 5, "E": 2},
    ])  # fmt: skip
    kept = topk_dropout(scores, k=3, n_drop=1)
    # B and C stay: NaN = keep their shares; A is sold (0), D bought at 1/k, E never held (0).
    assert kept.iloc[1][["B", "C"]].isna().all()
    assert kept.iloc[1][["A", "D", "E"]].tolist() == [0.0, pytest.approx(1 / 3), 0.0]
    full = topk_dropout(scores, k=3, n_drop=1, keep_held=False)
    assert full.iloc[1][["B", "C", "D"]].tolist() == [pytest.approx(1 / 3)] * 3
