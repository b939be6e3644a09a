"""features → walk-forward model → predictions → evaluation on a real Dagster instance and the embedded server."""

from collections.abc import Iterator
from datetime import date

import dagster as dg
import psycopg
import pytest

from vn_pipeline.definitions import defs
from vn_pipeline.defs.resources import MarketSourceResource, WarehouseResource
from vn_pipeline.lib.features import WARMUP_DAYS
from vn_pipeline.lib.market.calendar import next_trading_day, previous_trading_day
from vn_pipeline.lib.ml.registry import load_models
from vn_pipeline.runner import run_job, run_window

END = date(2023, 12, 29)  # a window no other test in the session writes
MODEL_DAYS = 100
START = previous_trading_day(END, WARMUP_DAYS + MODEL_DAYS)
MODEL_START = next_trading_day(START, WARMUP_DAYS)
MODEL_CONFIG = {"train_days": 40, "valid_days": 15, "test_days": 15, "num_boost_round": 40, "min_data_in_leaf": 20,
                "label_normalization": "zscore"}  # fmt: skip


@pytest.fixture(scope="module")
def research(warehouse_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    resources = {
        "warehouse": WarehouseResource(database_url=warehouse_url),
        "market_source": MarketSourceResource(n_symbols=12, intraday_since=END.isoformat()),
    }
    with dg.DagsterInstance.local_temp(str(tmp_path_factory.mktemp("dagster_research"))) as instance:
        runs = {"market": run_window(defs, "market_data", START, END, instance, resources=resources)}
        runs["features"] = run_window(defs, "features", START, END, instance, resources=resources)
        config = {"ops": {"ml__lgbm_model": {"config": {"start": MODEL_START.isoformat(), **MODEL_CONFIG,
                                                        "min_oos_rank_ic": -1.0}}}}  # fmt: skip
        runs["train"] = run_job(defs, "train", instance, config, resources)
        runs["predict"] = run_window(defs, "predict", MODEL_START, END, instance, resources=resources)
        runs["evaluate"] = run_job(defs, "evaluate", instance, resources=resources)
        runs["backtest"] = run_job(defs, "backtest", instance, resources=resources)
        yield {"runs": runs, "url": warehouse_url, "instance": instance}


def _rows(url: str, query: str, *params: object) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def test_every_stage_succeeds_and_its_checks_pass(research):
    for name, outcome in research["runs"].items():
        assert outcome.success, name
        assert not outcome.checks_failed, (name, outcome.checks_failed)
    assert "ml/lgbm_model:oos_rank_ic_above_minimum" in research["runs"]["train"].checks_passed


def test_predictions_come_only_from_models_trained_before_the_day(research):
    url = research["url"]
    with psycopg.connect(url) as conn:
        models = {m.model_id: m for m in load_models(conn)}
    predictions = _rows(url, "SELECT trading_date, model_id, count(*) FROM ml.predictions GROUP BY 1, 2")
    assert predictions, "no predictions were published"
    for day, model_id, _ in predictions:
        model = models[model_id]
        assert model.data_end < day and model.valid_end < day  # out of sample, label windows included
    # every symbol with features on a scored day got a score
    scored = dict(_rows(url, "SELECT trading_date, count(*) FROM ml.predictions GROUP BY 1"))
    featured = dict(_rows(url, "SELECT trading_date, count(*) FROM features.daily WHERE trading_date = ANY(%s)"
                          " GROUP BY 1", list(scored)))  # fmt: skip
    assert scored == featured


def test_a_stored_model_reloads_and_rescores_its_published_predictions(research):
    url = research["url"]
    day, model_id = _rows(url, "SELECT trading_date, model_id FROM ml.predictions ORDER BY 1 DESC LIMIT 1")[0]
    with psycopg.connect(url) as conn:
        (model,) = load_models(conn, [model_id])
    features = WarehouseResource(database_url=url).read_partition("features.daily", day, day).sort_values("symbol")
    stored = dict(_rows(url, "SELECT symbol, score FROM ml.predictions WHERE trading_date = %s", day))
    rescored = dict(zip(features["symbol"], model.predict(features), strict=True))
    assert rescored == pytest.approx(stored, rel=0, abs=0)


def test_evaluation_is_written_and_shown(research):
    rows = _rows(research["url"], "SELECT count(*), count(rank_ic) FROM ml.evaluation_daily")
    assert rows[0][0] > 0 and rows[0][1] > 0
    event = research["instance"].get_latest_materialization_event(dg.AssetKey(["ml", "evaluation"]))
    metadata = event.asset_materialization.metadata
    assert "data:image/png;base64," in metadata["ic_plot"].value
    assert "rank_ic_mean" in metadata


def test_the_topk_backtest_trades_the_scores_under_the_rules(research):
    url = research["url"]
    assert "backtest/topk:cash_never_negative" in research["runs"]["backtest"].checks_passed
    fills = _rows(url, "SELECT trading_date, symbol, side, shares FROM backtest.trades WHERE strategy = 'topk'")
    assert fills and all(shares % 100 == 0 for *_, shares in fills)
    first_signal = _rows(url, "SELECT min(trading_date) FROM ml.predictions")[0][0]
    assert min(day for day, *_ in fills) > first_signal  # a signal at D's close fills on D+1 at the earliest
    (equity,) = _rows(url, "SELECT count(*) FROM backtest.equity WHERE strategy = 'topk'")[0]
    assert equity > 0
