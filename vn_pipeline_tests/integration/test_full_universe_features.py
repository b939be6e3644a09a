"""The feature checks on a slice of the full simulated market (HOSE, HNX and UPCoM names, illiquid ones among
them) on a real Dagster instance and the embedded server: NaN on flat windows pass, any other NaN fails."""

from datetime import date

import pandas as pd
import psycopg

from vn_pipeline.definitions import defs
from vn_pipeline.defs.features.checks import features_nan_only_in_warmup
from vn_pipeline.defs.resources import MarketSourceResource, WarehouseResource
from vn_pipeline.lib.features import UNDEFINED_ON_FLAT, WARMUP_DAYS
from vn_pipeline.lib.features.flows import PROP_WINDOWS
from vn_pipeline.lib.features.rules import nan_outside_warmup
from vn_pipeline.lib.market.calendar import previous_trading_day
from vn_pipeline.runs import run_window
from vn_pipeline_tests.instances import postgres_instance

END = date(2022, 6, 30)  # a window no other test in the session writes
FEATURE_DAYS = 30
N_SYMBOLS = 100  # the first 100 of the full universe: 30 VN30 names, then HOSE, HNX and UPCoM mixed
FEATURE_START = previous_trading_day(END, FEATURE_DAYS - 1)
MARKET_START = previous_trading_day(FEATURE_START, WARMUP_DAYS)  # the features' whole lookback
CHECK = "features/daily:features_nan_only_in_warmup"


def test_flat_windows_of_illiquid_names_pass_and_another_nan_fails(warehouse_url, tmp_path_factory):
    warehouse = WarehouseResource(database_url=warehouse_url)
    resources = {
        "warehouse": warehouse,
        "market_source": MarketSourceResource(universe="full", n_symbols=N_SYMBOLS, intraday_since=END.isoformat()),
    }
    with postgres_instance(warehouse_url, str(tmp_path_factory.mktemp("dagster_full_universe"))) as instance:
        market = run_window(defs, "market_data", MARKET_START, END, instance, resources=resources)
        features = run_window(defs, "features", FEATURE_START, END, instance, resources=resources)
        assert market.success and not market.errors, market.errors
        assert features.success and CHECK in features.checks_passed, features.metadata.get(CHECK)
        explained = features.metadata[CHECK]["rows_nan_only_on_flat_windows"]

        # It passes for the right reason: seasoned rows do hold NaN, all in flat-window features of thin names.
        # the simulator has no proprietary flows: those features are NaN everywhere, by their own rule
        stored = warehouse.read_partition("features.daily", FEATURE_START, END).drop(columns=list(PROP_WINDOWS))
        bars = warehouse.read_partition("market.ohlcv_1d", MARKET_START, END, columns=["trading_date", "symbol"])
        keys = bars.sort_values(["symbol", "trading_date"])
        history = keys.groupby("symbol").cumcount().set_axis(pd.MultiIndex.from_frame(keys))
        with_nan = nan_outside_warmup(stored, history, WARMUP_DAYS)
        assert len(with_nan) == explained >= 20
        assert {n for names in with_nan["nan_features"] for n in names.split(",")} <= set(UNDEFINED_ON_FLAT)
        listed = warehouse.read_partition("market.listings", END, END, columns=["symbol", "exchange"])
        exchange = dict(zip(listed["symbol"], listed["exchange"], strict=True))
        assert {exchange[s] for s in with_nan["symbol"]} - {"HOSE"}  # HNX / UPCoM names among them
        traded = bars.groupby("symbol").size()
        assert (traded[sorted(set(with_nan["symbol"]))] < traded.max()).any()  # names that skip days

        # A NaN on a window that is not flat: a liquid VN30 name's 60-day R² on the last day.
        liquid = traded[traded == traded.max()].index.difference(with_nan["symbol"])[0]
        with psycopg.connect(warehouse_url) as conn:
            conn.execute(
                "UPDATE features.daily SET rsqr_60 = NULL WHERE trading_date = %s AND symbol = %s", (END, liquid)
            )
        recheck = run_window(
            defs, "features", FEATURE_START, END, instance, resources=resources,
            assets=set(), checks=set(features_nan_only_in_warmup.check_keys),
        )  # fmt: skip
    assert recheck.success and recheck.errors == [CHECK]  # an ERROR-severity failure: the demo would exit 1
    assert recheck.metadata[CHECK]["offending_rows"] == 1
    (sample,) = [record.data for record in recheck.metadata[CHECK]["sample"].records]
    assert sample["symbol"] == liquid and sample["trading_date"] == str(END) and "rsqr_60" in sample["nan_features"]
