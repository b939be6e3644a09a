"""IC / Rank IC / ICIR definitions, Newey-West t, monthly table, coverage, importance and the PNG plot."""

from __future__ import annotations

import datetime as dt

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vn_pipeline.lib.ml.evaluation import (
    coverage,
    daily_ic,
    evaluate,
    feature_importance,
    monthly_ic,
    newey_west_t,
    plot_ic,
    summarize_ic,
)

DAYS = list(pd.bdate_range("2024-01-01", "2024-03-29").date)


def _frames(rho: float = 0.2, n: int = 60, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    rows_p, rows_l = [], []
    for d in DAYS:
        s = rng.standard_normal(n)
        y = rho * s + np.sqrt(1 - rho**2) * rng.standard_normal(n)
        for i in range(n):
            rows_p.append((d, f"S{i}", s[i], "m"))
            rows_l.append((d, f"S{i}", y[i]))
    return (
        pd.DataFrame(rows_p, columns=["trading_date", "symbol", "score", "model_id"]),
        pd.DataFrame(rows_l, columns=["trading_date", "symbol", "label"]),
    )


def test_daily_ic_matches_scipy_and_summary_definitions() -> None:
    p, y = _frames()
    d = daily_ic(p, y)
    assert len(d) == len(DAYS) and (d["n"] == 60).all()
    day = DAYS[3]
    ps, ys = p[p["trading_date"] == day]["score"], y[y["trading_date"] == day]["label"]
    assert d.loc[3, "ic"] == pytest.approx(stats.pearsonr(ps, ys)[0])
    assert d.loc[3, "rank_ic"] == pytest.approx(stats.spearmanr(ps, ys)[0])
    s = summarize_ic(d)
    assert s["ic_mean"] == pytest.approx(d["ic"].mean())
    assert s["icir"] == pytest.approx(d["ic"].mean() / d["ic"].std())  # per day, not annualised
    assert s["rank_icir"] == pytest.approx(d["rank_ic"].mean() / d["rank_ic"].std())
    assert 0.1 < s["rank_ic_mean"] < 0.3 and s["rank_ic_t_nw"] > 5


def test_newey_west_equals_naive_for_lag_zero_and_deflates_overlap() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal(500) + 0.1
    naive = x.mean() / (x.std(ddof=0) / np.sqrt(len(x)))
    assert newey_west_t(x, 0) == pytest.approx(naive)
    overlapped = np.convolve(rng.standard_normal(2000), np.ones(3) / 3, mode="valid") + 0.05  # 3-day overlap
    naive_o = overlapped.mean() / (overlapped.std(ddof=0) / np.sqrt(len(overlapped)))
    assert newey_west_t(overlapped, 3) < 0.75 * naive_o


def test_monthly_coverage_importance_and_plot() -> None:
    p, y = _frames()
    d = daily_ic(p, y)
    m = monthly_ic(d)
    assert list(m["month"]) == ["2024-01", "2024-02", "2024-03"] and m["n_days"].sum() == len(DAYS)
    tradable = pd.concat([y[["trading_date", "symbol"]], pd.DataFrame({"trading_date": DAYS, "symbol": "NEW"})])
    cov = coverage(p, tradable)
    assert np.allclose(cov["coverage"], 60 / 61) and (cov["n_tradable"] == 61).all()

    rng = np.random.default_rng(0)
    x = rng.standard_normal((500, 3))
    booster = lgb.train(
        {"verbosity": -1, "num_threads": 1, "seed": 0},
        lgb.Dataset(x, x[:, 1] * 2 + 0.1 * rng.standard_normal(500), feature_name=["a", "b", "c"]),
        num_boost_round=10,
    )
    imp = feature_importance([booster, booster])
    assert imp.loc[0, "feature"] == "b" and imp["share"].sum() == pytest.approx(1.0)
    assert imp.loc[0, "gain"] == pytest.approx(2 * feature_importance(booster).loc[0, "gain"])

    png = plot_ic(d)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000
    rep = evaluate(p, y, tradable=tradable, boosters=[booster])
    assert rep.summary["n_days"] == len(DAYS) and rep.importance is not None and rep.coverage is not None


def test_days_with_too_few_names_or_constant_scores_are_skipped() -> None:
    p, y = _frames(n=4)
    assert daily_ic(p, y).empty
    p, y = _frames()
    p.loc[p["trading_date"] == DAYS[0], "score"] = 1.0
    assert dt.date(2024, 1, 1) not in set(daily_ic(p, y)["trading_date"])
