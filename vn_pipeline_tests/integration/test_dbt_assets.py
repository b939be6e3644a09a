"""The dbt marts as Dagster assets: a market-data window on the simulated market with one broken listing planted,
then the `dbt_marts` job on a real Dagster instance against the real embedded warehouse. Mart values are checked
against numbers recomputed here in pandas from the same market rows; the dbt tests must come back as asset checks,
passing except the one the broken row fails. One dbt build per module (dbt's start-up is most of its time)."""

from collections.abc import Iterator
from datetime import date

import dagster as dg
import numpy as np
import pandas as pd
import psycopg
import pytest

from vn_pipeline.definitions import defs
from vn_pipeline.defs.resources import MarketSourceResource, WarehouseResource, dbt_resource
from vn_pipeline.runs import WindowRun, run_job, run_window
from vn_pipeline_tests.databases import own_database
from vn_pipeline_tests.instances import postgres_instance

FIRST, LAST = date(2025, 3, 3), date(2025, 3, 12)  # 8 trading days: streaks and rank changes have history
N_SYMBOLS = 12
MARTS = ["mart_daily_market_summary", "mart_top_movers", "mart_sector_daily", "mart_foreign_flows", "mart_liquidity"]


def _key(model: str) -> dg.AssetKey:
    return dg.AssetKey(["analytics", model])


@pytest.fixture(scope="module")
def url(warehouse_url: str) -> Iterator[str]:
    with own_database(warehouse_url, "dbt_marts") as own:
        yield own


@pytest.fixture(scope="module")
def instance(warehouse_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dg.DagsterInstance]:
    with postgres_instance(warehouse_url, str(tmp_path_factory.mktemp("dagster_home"))) as local:
        yield local


def _resources(url: str) -> dict[str, object]:
    return {
        "warehouse": WarehouseResource(database_url=url),
        "market_source": MarketSourceResource(n_symbols=N_SYMBOLS, intraday_since=LAST.isoformat()),
        "dbt": dbt_resource(url),
    }


@pytest.fixture(scope="module")
def planted(url: str, instance: dg.DagsterInstance) -> tuple[date, str]:
    """The market window, then one broken listing: on the last day, one symbol's ceiling set one tick under its
    close (a listing with the wrong reference price, as a vendor file can carry)."""
    market = run_window(defs, "market_data", FIRST, LAST, instance, resources=_resources(url))
    assert market.success
    with psycopg.connect(url) as conn:
        symbol, close = conn.execute(
            "SELECT b.symbol, b.close FROM market.ohlcv_1d AS b JOIN market.listings AS l USING (trading_date, symbol)"
            " WHERE b.trading_date = %s AND b.close < l.ceiling_price ORDER BY b.symbol LIMIT 1",
            (LAST,),
        ).fetchone()
        conn.execute(
            "UPDATE market.listings SET ceiling_price = %s WHERE trading_date = %s AND symbol = %s",
            (close - 50, LAST, symbol),
        )
    return LAST, symbol


@pytest.fixture(scope="module")
def built(url: str, instance: dg.DagsterInstance, planted: tuple[date, str]) -> WindowRun:
    """The one dbt build of this module (dbt's start-up is most of its time)."""
    return run_job(defs, "dbt_marts", instance, resources=_resources(url))


def _frame(url: str, query: str) -> pd.DataFrame:
    with psycopg.connect(url) as conn:
        cursor = conn.execute(query)
        return pd.DataFrame(cursor.fetchall(), columns=[c.name for c in cursor.description])


@pytest.fixture(scope="module")
def bars(url: str, built: WindowRun) -> pd.DataFrame:
    """One bar per (day, symbol), the tick-built one where both exist, joined to its listing: from market.* only."""
    raw = _frame(url, "SELECT * FROM market.ohlcv_1d")
    raw = raw.sort_values("source", key=lambda s: s.ne("ticks")).drop_duplicates(["trading_date", "symbol"])
    listings = _frame(url, "SELECT * FROM market.listings")
    frame = raw.merge(listings, on=["trading_date", "symbol"], how="left", validate="one_to_one")
    return frame.sort_values(["trading_date", "symbol"]).reset_index(drop=True)


def test_the_marts_are_downstream_of_the_market_assets():
    graph = defs.get_repository_def().asset_graph
    upstream = {
        model: {key.to_user_string() for key in graph.upstream_key_iterator(_key(model))}
        for model in MARTS
        if graph.has(_key(model))
    }
    assert set(upstream) == set(MARTS)
    assert {"market/ohlcv_1d", "market/listings"} <= upstream["mart_top_movers"]
    assert {"market/ohlcv_1d", "market/listings"} <= upstream["mart_sector_daily"]
    assert "market/foreign_flows" in upstream["mart_foreign_flows"]
    assert graph.get(_key("stg_market__foreign_flows")).parent_keys == {dg.AssetKey(["market", "foreign_flows"])}
    # a dbt source is the market asset itself, not a second, unmaterializable node of the same table
    assert not any(key.path[0] == "market" and graph.get(key).is_external for key in graph.get_all_asset_keys())
    job_keys = set(defs.resolve_job_def("dbt_marts").asset_layer.asset_graph.get_all_asset_keys())
    assert {_key(model) for model in MARTS} <= job_keys


def test_dbt_tests_are_asset_checks_and_the_broken_row_fails_one(url: str, built: WindowRun, planted, instance):
    """Every dbt test is an asset check of the model it tests; all pass but the price-band test, which the planted
    listing breaks (a WARN test: the run succeeds, the failure is a warning with the offending row counted)."""
    assert built.success
    band = "analytics/mart_top_movers:assert_closes_inside_band"
    assert built.checks_failed == [band] and built.warnings == [band]
    assert built.metadata[band]["dagster_dbt/failed_row_count"] == 1
    passed = set(built.checks_passed)
    for check in (
        "analytics/mart_top_movers:assert_limit_counts_match_sources",
        "analytics/mart_top_movers:assert_movers_ranked_by_change",
        "analytics/mart_foreign_flows:assert_foreign_streaks_consistent",
        "analytics/mart_sector_daily:assert_sectors_cover_every_listed_bar",
        "analytics/mart_sector_daily:shares_sum_to_one_mart_sector_daily_value_share__trading_date",
        "analytics/mart_liquidity:shares_sum_to_one_mart_liquidity_value_share__trading_date__exchange",
        "analytics/mart_daily_market_summary:assert_breadth_adds_up",
    ):
        assert check in passed
    defined = {
        f"{key.asset_key.to_user_string()}:{key.name}"
        for key in defs.get_repository_def().asset_graph.asset_check_keys
        if key.asset_key.path[0] == "analytics"
    }
    assert passed | {band} == defined  # every dbt test of every model ran and reported
    record = instance.get_latest_asset_check_evaluation_record(
        dg.AssetCheckKey(_key("mart_top_movers"), "assert_closes_inside_band")
    )
    assert record is not None and record.event.asset_check_evaluation.passed is False
    # the planted row is the one the mart flags: its close is now "above the ceiling", hence limit-up
    day, symbol = planted
    with psycopg.connect(url) as conn:
        assert conn.execute(
            "SELECT is_limit_up FROM analytics.mart_top_movers WHERE trading_date = %s AND symbol = %s", (day, symbol)
        ).fetchone() == (True,)


def test_top_movers_and_limit_counts_match_an_independent_count(url: str, bars: pd.DataFrame):
    listed = bars[bars["exchange"].notna()].copy()
    listed["change"] = listed["close"] / listed["reference_price"] - 1
    movers = _frame(url, "SELECT * FROM analytics.mart_top_movers").merge(
        listed, on=["trading_date", "symbol"], suffixes=("", "_py"), validate="one_to_one"
    )
    assert len(movers) == len(listed) == len(bars)  # the simulator lists every symbol it trades
    np.testing.assert_allclose(movers["change_pct"].astype(float), movers["change"], rtol=0, atol=1e-12)
    assert (movers["is_limit_up"] == (movers["close"] >= movers["ceiling_price_py"])).all()
    best = listed.loc[listed.groupby("trading_date")["change"].idxmax(), ["trading_date", "symbol"]]
    top = movers.loc[movers["gainer_rank"] == 1, ["trading_date", "symbol"]]
    assert sorted(map(tuple, best.to_numpy())) == sorted(map(tuple, top.to_numpy()))

    summary = _frame(url, "SELECT trading_date, exchange, limit_up, limit_down, advancers FROM"
                          " analytics.mart_daily_market_summary").set_index(["trading_date", "exchange"])  # fmt: skip
    listed["up"], listed["down"] = listed["close"] >= listed["ceiling_price"], listed["close"] <= listed["floor_price"]
    listed["adv"] = listed["close"] > listed["reference_price"]
    expected = listed.groupby(["trading_date", "exchange"])[["up", "down", "adv"]].sum()
    assert summary.loc[expected.index, "limit_up"].tolist() == expected["up"].tolist()
    assert summary.loc[expected.index, "limit_down"].tolist() == expected["down"].tolist()
    assert summary.loc[expected.index, "advancers"].tolist() == expected["adv"].tolist()
    assert expected["adv"].sum() > 0


def test_sector_performance_and_rotation(url: str, bars: pd.DataFrame):
    listed = bars[bars["exchange"].notna()].assign(sector=lambda f: f["sector"].fillna("Unknown"))
    listed = listed.assign(change=listed["close"] / listed["reference_price"] - 1)
    grouped = listed.groupby(["trading_date", "sector"])
    expected = pd.DataFrame({"change": grouped["change"].mean(), "value": grouped["value"].sum(),
                             "symbols": grouped.size()})  # fmt: skip
    expected["share"] = expected["value"] / expected.groupby(level="trading_date")["value"].transform("sum")
    expected["rank"] = expected.groupby(level="trading_date")["change"].rank(ascending=False, method="min")
    mart = _frame(url, "SELECT * FROM analytics.mart_sector_daily").set_index(["trading_date", "sector"])
    mart = mart.loc[expected.index]
    assert len(mart) == len(expected) and expected.index.get_level_values("sector").nunique() >= 3
    np.testing.assert_allclose(mart["change_pct"].astype(float), expected["change"], atol=1e-12)
    np.testing.assert_allclose(mart["value_share"].astype(float), expected["share"], atol=1e-12)
    assert mart["symbols"].tolist() == expected["symbols"].tolist()
    assert mart["change_rank"].tolist() == expected["rank"].astype(int).tolist()
    # rotation: yesterday's rank of the same sector, and the change in rank
    previous = expected["rank"].groupby(level="sector").shift(1)
    later = previous.notna()
    assert mart.loc[later, "prev_change_rank"].tolist() == previous[later].astype(int).tolist()
    moved = mart.loc[later, "prev_change_rank"] - mart.loc[later, "change_rank"]
    assert (mart.loc[later, "rank_change"] == moved).all()
    compounded = (1 + expected["change"]).groupby(level="sector").transform(lambda s: s.rolling(5, 1).apply(np.prod))
    np.testing.assert_allclose(mart["change_5d"].astype(float), compounded - 1, atol=1e-9)


def test_foreign_flow_leaders_and_streaks(url: str, built: WindowRun):
    flows = _frame(url, "SELECT * FROM market.foreign_flows ORDER BY symbol, trading_date")
    flows["net"] = flows["buy_value"] - flows["sell_value"]
    streaks = []
    for _, rows in flows.groupby("symbol", sort=False):
        streak, previous = 0, None
        for net in rows["net"]:
            direction = int(np.sign(net))
            streak = 0 if direction == 0 else (streak + direction if direction == previous else direction)
            previous = direction
            streaks.append(streak)
    flows["streak"] = streaks
    mart = _frame(url, "SELECT * FROM analytics.mart_foreign_flows").merge(
        flows, on=["trading_date", "symbol"], validate="one_to_one"
    )
    assert len(mart) == len(flows) > 0
    assert (mart["net_buy_value"] == mart["net"]).all()
    assert mart["streak_days"].tolist() == mart["streak"].tolist()
    assert mart["streak_days"].abs().max() >= 2  # the window is long enough for a streak to build
    leaders = flows.loc[flows.groupby("trading_date")["net"].idxmax(), ["trading_date", "symbol"]]
    top = mart.loc[mart["buy_rank"] == 1, ["trading_date", "symbol"]]
    assert sorted(map(tuple, leaders.to_numpy())) == sorted(map(tuple, top.to_numpy()))


def test_liquidity(url: str, bars: pd.DataFrame):
    frame = bars.assign(exchange=bars["exchange"].fillna("UNKNOWN"))
    frame["share"] = frame["value"] / frame.groupby(["trading_date", "exchange"])["value"].transform("sum")
    frame["avg20"] = frame.groupby("symbol")["value"].transform(lambda s: s.rolling(20, 1).mean())
    mart = _frame(url, "SELECT * FROM analytics.mart_liquidity").merge(
        frame, on=["trading_date", "symbol"], suffixes=("", "_py"), validate="one_to_one"
    )
    assert len(mart) == len(frame)
    np.testing.assert_allclose(mart["value_share"].astype(float), mart["share"], atol=1e-12)
    np.testing.assert_allclose(mart["avg_value_20d"].astype(float), mart["avg20"], rtol=1e-12)
    known = mart["shares_outstanding"].notna()
    assert known.any()
    np.testing.assert_allclose(
        mart.loc[known, "turnover"].astype(float), mart.loc[known, "volume"] / mart.loc[known, "shares_outstanding"]
    )
