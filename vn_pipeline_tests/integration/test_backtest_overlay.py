"""backtest/topk_overlay next to backtest/topk, materialized on a real Dagster instance and the embedded server:
the overlaid book is stored, passes the rule checks, and its decisions keep what the overlay guarantees by
construction (gross at most 1, caps, cash on regime-off days, only names of the top-k book)."""

from collections.abc import Iterator
from datetime import date

import pandas as pd
import psycopg
import pytest

from vn_pipeline.cli import _print_backtests
from vn_pipeline.definitions import defs
from vn_pipeline.defs.backtest.assets import topk, topk_overlay
from vn_pipeline.defs.backtest.checks import CHECKS
from vn_pipeline.defs.resources import MarketSourceResource, WarehouseResource
from vn_pipeline.lib.market.calendar import next_trading_day, previous_trading_day
from vn_pipeline.lib.warehouse import migrate
from vn_pipeline.runs import run_job, run_window
from vn_pipeline_tests.databases import own_database
from vn_pipeline_tests.instances import postgres_instance
from vn_pipeline_tests.seeded_models import seed_reversal_predictions

END = date(2021, 6, 30)
START = previous_trading_day(END, 179)
SCORED = next_trading_day(START, 60)  # VN30's 20-day average and the volatility window have history by then
K, NAME_CAP, SECTOR_CAP, MA_DAYS = 5, 0.15, 0.3, 20
# No re-entry band: a regime-off day is then exactly a close below the average, which the test recomputes.
OVERLAY = {"target_vol": 0.10, "vol_lookback_days": 20, "regime_ma_days": MA_DAYS, "regime_band": 0.0,
           "max_name_weight": NAME_CAP, "max_sector_weight": SECTOR_CAP}  # fmt: skip
EPS = 1e-9


@pytest.fixture(scope="module")
def overlaid(warehouse_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    with own_database(warehouse_url, "vn_pipeline_overlay") as url:
        migrate(url)
        resources = {"warehouse": WarehouseResource(database_url=url),
                     "market_source": MarketSourceResource(n_symbols=12, intraday_since=END.isoformat())}  # fmt: skip
        with postgres_instance(url, str(tmp_path_factory.mktemp("dagster_overlay"))) as instance:
            market = run_window(defs, "market_data", START, END, instance, resources=resources)
            assert market.success
            seed_reversal_predictions(url, START, SCORED, END)
            config = {"ops": {"backtest__topk": {"config": {"k": K}},
                              "backtest__topk_overlay": {"config": {"k": K, "overlay": OVERLAY}}}}  # fmt: skip
            assets = {topk.key, topk_overlay.key}
            checks = {key for check in CHECKS for key in check.check_keys if key.asset_key in assets}
            run = run_job(defs, "backtest", instance, config, resources, assets=assets, checks=checks)
            event = instance.get_latest_materialization_event(topk_overlay.key)
            yield {"url": url, "run": run, "metadata": event.asset_materialization.metadata}


def _frame(url: str, query: str, *params: object) -> pd.DataFrame:
    with psycopg.connect(url) as conn:
        cur = conn.execute(query, params)
        return pd.DataFrame(cur.fetchall(), columns=[c.name for c in cur.description])


def _orders(url: str, strategy: str) -> pd.DataFrame:
    """Decisions wide (signal dates × symbols): a target, NaN = keep the shares (or no order for the name)."""
    long = _frame(url, "SELECT signal_date, symbol, target_weight FROM backtest.orders WHERE strategy = %s", strategy)
    return long.pivot(index="signal_date", columns="symbol", values="target_weight").astype(float).sort_index()


def _books(orders: pd.DataFrame, days: pd.Index) -> pd.DataFrame:
    """The names each decision leaves in the book (its target > 0, or kept after an earlier one), as of each day."""
    in_book = (orders > 0).where(orders.notna()).ffill().fillna(False).astype(bool)
    return in_book.reindex(in_book.index.union(days)).ffill().fillna(False).astype(bool).reindex(days)


def test_the_overlaid_book_is_stored_and_passes_the_rule_checks(overlaid):
    run = overlaid["run"]
    assert run.success and not run.checks_failed
    for name in ("cash_never_negative", "fills_follow_exchange_rules"):
        assert f"backtest/topk_overlay:{name}" in run.checks_passed
    runs = _frame(overlaid["url"], "SELECT strategy, params, stats FROM backtest.runs").set_index("strategy")
    assert set(runs.index) == {"topk", "topk_overlay"}
    stats, params = runs.loc["topk_overlay", "stats"], runs.loc["topk_overlay", "params"]
    assert {"total_return", "sharpe", "max_drawdown"} <= set(stats) and stats["turnover"] > 0
    assert params["overlay"]["target_vol"] == 0.10 and params["k"] == K
    # The 10% target binds on a 5-name book and the filter spent days in cash: the overlay did act.
    assert overlaid["metadata"]["overlay_mean_gross"].value < 0.9
    assert overlaid["metadata"]["overlay_regime_off_days"].value > 0


def test_decisions_stay_within_gross_one_and_the_caps(overlaid):
    url = overlaid["url"]
    orders = _orders(url, "topk_overlay")
    assert len(orders) > 5
    assert (orders.fillna(0).sum(axis=1) <= 1 + EPS).all()
    assert orders.max().max() <= NAME_CAP + EPS
    sectors = _frame(url, "SELECT trading_date AS signal_date, symbol, sector FROM market.listings")
    long = orders.stack().rename("w").reset_index().merge(sectors, on=["signal_date", "symbol"])
    assert long["sector"].notna().all()  # the simulator lists every sector: each name is capped with its sector
    assert long.groupby(["signal_date", "sector"])["w"].sum().max() <= SECTOR_CAP + EPS
    held = _frame(url, "SELECT trading_date, sum(weight) AS gross FROM backtest.positions WHERE strategy ="
                  " 'topk_overlay' GROUP BY 1")  # fmt: skip
    assert (held["gross"] <= 1 + EPS).all()


def test_regime_off_days_are_cash_and_the_book_holds_only_names_of_the_topk_book(overlaid):
    url = overlaid["url"]
    vn30 = _frame(url, "SELECT trading_date, close FROM market.index_levels WHERE index_code = 'VN30' ORDER BY 1")
    vn30 = vn30.set_index("trading_date")["close"].astype(float)
    off = vn30 < vn30.rolling(MA_DAYS, min_periods=MA_DAYS).mean()  # NaN average: not off
    off = off[(off.index >= SCORED) & (off.index <= END)]
    orders = _orders(url, "topk_overlay")
    off_days = off.index[off]
    assert len(off_days) > 0
    decided_off = orders.loc[orders.index.isin(off_days)]
    assert (decided_off.fillna(0) == 0).all().all()  # no name is bought or kept on a regime-off day
    # On the first close below the average, every name of the book is sold.
    books = _books(orders, vn30.index)
    first_off = [d for d, prev in zip(off.index[1:], off.to_numpy()[:-1], strict=True) if off[d] and not prev]
    sold_out = 0
    for day in first_off:
        before = books.index[books.index.get_loc(day) - 1]
        names = books.columns[books.loc[before]]
        if len(names):
            assert day in orders.index and (orders.loc[day, names] == 0).all(), day
            sold_out += 1
    assert sold_out > 0
    # The overlay only scales and caps: every name it buys or keeps is in the top-k book that day.
    base = _books(_orders(url, "topk"), orders.index)
    mine = (orders > 0) | (orders.isna() & _books(orders, orders.index).shift(1, fill_value=False))
    assert not (mine & ~base.reindex(columns=mine.columns, fill_value=False)).any().any()


def test_the_demo_table_shows_the_book_with_and_without_its_overlay(overlaid, capsys):
    _print_backtests(overlaid["url"])
    lines = capsys.readouterr().out.splitlines()
    first_words = [line.split()[0] for line in lines if line.startswith("    ")]
    rows = [word for word in first_words if word in {"topk", "topk_overlay"}]
    assert rows == ["topk", "topk_overlay"]  # side by side, the book first
    note = next(line for line in lines if line.strip().startswith("topk_overlay: topk under the risk overlay"))
    assert "volatility target 10%" in note and f"VN30's {MA_DAYS}-day average" in note and "name cap 15%" in note


def test_the_config_defaults_are_the_libs_and_each_rule_switches_off():
    from vn_pipeline.defs.backtest.assets import OverlayConfig
    from vn_pipeline.lib.backtest.overlay import Overlay

    assert OverlayConfig().overlay() == Overlay()
    off = OverlayConfig(vol_targeting=False, regime_filter=False, name_cap=False, sector_cap=False).overlay()
    assert (off.target_vol, off.regime_ma_days, off.max_name_weight, off.max_sector_weight) == (None,) * 4
    assert off.drawdown_limit is None and OverlayConfig(drawdown_stop=True).overlay().drawdown_limit == 0.15
