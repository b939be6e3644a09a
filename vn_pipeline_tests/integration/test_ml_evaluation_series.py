"""ml/evaluation's daily and monthly series land in the warehouse (migration 019), idempotently, and the monthly
table agrees with the daily rows aggregated by SQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pytest

from vn_pipeline.lib.market.calendar import trading_days
from vn_pipeline.lib.ml.evaluation import evaluate
from vn_pipeline.lib.ml.registry import save_evaluation
from vn_pipeline.lib.warehouse import migrate
from vn_pipeline_tests.databases import own_database

DAYS = trading_days(dt.date(2024, 1, 2), dt.date(2024, 3, 29))


def _report(days: list[dt.date], seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A real evaluation of noisy scores that carry some of the label: (daily rows as stored, monthly table)."""
    rng = np.random.default_rng(seed)
    keys = pd.MultiIndex.from_product([days, [f"S{i:02d}" for i in range(30)]], names=["trading_date", "symbol"])
    labels = pd.DataFrame({"label": rng.standard_normal(len(keys))}, index=keys).reset_index()
    preds = labels.assign(score=labels["label"] * 0.3 + rng.standard_normal(len(labels)), model_id="m1")
    report = evaluate(preds, labels)
    return report.daily.assign(model_id="m1"), report.monthly


def test_series_are_stored_idempotently_and_monthly_matches_sql(warehouse_url: str) -> None:
    with own_database(warehouse_url, "ml_eval") as url:
        migrate(url)
        daily, monthly = _report(DAYS, seed=1)
        with psycopg.connect(url) as conn:
            assert save_evaluation(conn, daily, monthly, DAYS[0], DAYS[-1]) == (len(DAYS), 3)
            assert save_evaluation(conn, daily, monthly, DAYS[0], DAYS[-1]) == (len(DAYS), 3)  # a re-run
            _assert_consistent(conn, expected_days=len(DAYS))
            # a later evaluation over March only replaces March, and leaves January and February alone
            march = [d for d in DAYS if d.month == 3]
            before = conn.execute(
                "SELECT rank_ic_mean FROM ml.evaluation_monthly WHERE month = '2024-01-01'"
            ).fetchone()
            daily_m, monthly_m = _report(march, seed=2)
            assert save_evaluation(conn, daily_m, monthly_m, march[0], march[-1]) == (len(march), 1)
            _assert_consistent(conn, expected_days=len(DAYS))
            after = conn.execute("SELECT rank_ic_mean FROM ml.evaluation_monthly WHERE month = '2024-01-01'").fetchone()
            assert before == after
            stored = conn.execute(
                "SELECT rank_ic_mean FROM ml.evaluation_monthly WHERE month = '2024-03-01'"
            ).fetchone()[0]
            assert stored == pytest.approx(daily_m["rank_ic"].mean())
            models = conn.execute("SELECT DISTINCT model_id FROM ml.evaluation_daily").fetchall()
            assert models == [("m1",)]


def _assert_consistent(conn: psycopg.Connection[Any], expected_days: int) -> None:
    assert conn.execute("SELECT count(*) FROM ml.evaluation_daily").fetchone()[0] == expected_days
    rows = conn.execute(
        "SELECT m.month, m.n_days, d.n, m.ic_mean, d.ic, m.rank_ic_mean, d.rank_ic FROM ml.evaluation_monthly m"
        " JOIN (SELECT date_trunc('month', trading_date)::date AS month, count(*) AS n, avg(ic) AS ic,"
        "       avg(rank_ic) AS rank_ic FROM ml.evaluation_daily GROUP BY 1) d USING (month) ORDER BY 1"
    ).fetchall()
    assert [r[0] for r in rows] == [dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 3, 1)]
    for _, n_days, n, ic_mean, ic, rank_ic_mean, rank_ic in rows:
        assert n_days == n and ic_mean == pytest.approx(ic) and rank_ic_mean == pytest.approx(rank_ic)
