"""features/universe on a real Dagster instance and the embedded server: it stores what the lib computes from the
stored bars, a one-day run agrees with the multi-day one, and ml/models and ml/predictions use only its members."""

from collections.abc import Iterator
from datetime import date

import pandas as pd
import psycopg
import pytest

from vn_pipeline.definitions import defs
from vn_pipeline.defs.common import FEATURES_UNIVERSE
from vn_pipeline.defs.resources import MarketSourceResource, WarehouseResource
from vn_pipeline.lib.features.universe import liquidity_universe
from vn_pipeline.lib.market.calendar import previous_trading_day, trading_days
from vn_pipeline.lib.ml.registry import load_models
from vn_pipeline.lib.warehouse import migrate
from vn_pipeline.runs import run_job, run_window
from vn_pipeline_tests.databases import own_database
from vn_pipeline_tests.instances import postgres_instance

END = date(2022, 12, 30)
START = previous_trading_day(END, 139)
N_SYMBOLS, SIZE = 12, 5  # the universe keeps fewer names than have features
UNIVERSE = {"ops": {"features__universe": {"config": {"size": SIZE}}}}
MODEL = {"train_days": 40, "valid_days": 15, "test_days": 15, "num_boost_round": 20, "min_data_in_leaf": 10,
         "min_oos_rank_ic": -1.0}  # fmt: skip


def _frame(url: str, query: str, *params: object) -> pd.DataFrame:
    with psycopg.connect(url) as conn:
        cur = conn.execute(query, params)
        return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])


@pytest.fixture(scope="module")
def loop(warehouse_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    with own_database(warehouse_url, "vn_pipeline_universe") as url:
        migrate(url)
        source = MarketSourceResource(n_symbols=N_SYMBOLS, intraday_since=END.isoformat())
        resources = {"warehouse": WarehouseResource(database_url=url), "market_source": source}
        with postgres_instance(url, str(tmp_path_factory.mktemp("dagster_universe"))) as instance:
            runs = {"market": run_window(defs, "market_data", START, END, instance, resources=resources)}
            runs["features"] = run_window(defs, "features", START, END, instance, UNIVERSE, resources=resources)
            stored = _frame(url, "SELECT * FROM features.universe ORDER BY trading_date, liquidity_rank")
            day = trading_days(START, END)[100]
            runs["one_day"] = run_window(defs, "features", day, day, instance, UNIVERSE, resources=resources,
                                         assets={FEATURES_UNIVERSE}, checks=set())  # fmt: skip
            runs["train"] = run_job(defs, "train", instance, {"ops": {"ml__models": {"config": MODEL}}}, resources)
            runs["predict"] = run_window(defs, "predict", START, END, instance, resources=resources)
            yield {"url": url, "runs": runs, "stored": stored, "day": day}


def test_the_runs_succeed(loop) -> None:
    assert {name: run.success for name, run in loop["runs"].items()} == dict.fromkeys(loop["runs"], True)


def test_the_asset_stores_the_universe_of_the_stored_bars(loop) -> None:
    url, stored = loop["url"], loop["stored"]
    bars = _frame(url, "SELECT trading_date, symbol, volume, value FROM market.ohlcv_1d")
    listings = _frame(url, "SELECT trading_date, symbol FROM market.listings")
    expected = liquidity_universe(bars, listings, size=SIZE, days=trading_days(START, END))
    pd.testing.assert_frame_equal(stored.astype({"liquidity_rank": "int32"}), expected, check_dtype=False)
    per_day = stored.groupby("trading_date").size()
    assert per_day.index.min() == trading_days(START, END)[19]  # 20 bars of history first
    assert (per_day == SIZE).all()
    # The one-day rerun (it read only its own lookback) wrote that day's rows unchanged.
    again = _frame(url, "SELECT * FROM features.universe WHERE trading_date = %s ORDER BY liquidity_rank", loop["day"])
    day_rows = stored[stored["trading_date"] == loop["day"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(again, day_rows)


def test_the_model_trains_and_predicts_only_on_the_universe(loop) -> None:
    url = loop["url"]
    members = set(_frame(url, "SELECT trading_date, symbol FROM features.universe").itertuples(index=False))
    predictions = _frame(url, "SELECT trading_date, symbol FROM ml.predictions")
    featured = _frame(url, "SELECT trading_date, count(*) AS n FROM features.daily GROUP BY 1").set_index(
        "trading_date"
    )["n"]
    assert len(predictions) > 0
    assert set(predictions.itertuples(index=False)) <= members
    per_day = predictions.groupby("trading_date").size()
    assert (per_day == SIZE).all() and (featured[per_day.index] == N_SYMBOLS).all()
    with psycopg.connect(url) as conn:
        models = load_models(conn)
    assert models
    for model in models:
        # The first tree's root counts the rows it was grown on (bagged): at most SIZE a training day.
        root = model.booster.dump_model()["tree_info"][0]["tree_structure"]
        days = len(trading_days(model.train_start, model.train_end))
        assert 0 < root["internal_count"] <= SIZE * days < 0.8 * N_SYMBOLS * days
