"""The Definitions object loads, and holds every asset, check, job, schedule, sensor and resource."""

from datetime import date

import dagster as dg

from vn_pipeline.definitions import defs
from vn_pipeline.defs.partitions import trading_day_partitions
from vn_pipeline.lib.market.calendar import trading_days as calendar_days

MARKET_TABLES = [
    "listings", "daily_bars", "raw_ticks", "ohlcv_1m", "ohlcv_1d", "foreign_flows", "proprietary_flows",
    "corporate_actions", "index_levels",
]  # fmt: skip


def test_definitions_load_everything():
    repo = defs.get_repository_def()
    keys = {key.to_user_string() for key in repo.asset_graph.get_all_asset_keys()}
    assert {f"market/{table}" for table in MARKET_TABLES} <= keys
    checks = {(k.asset_key.to_user_string(), k.name) for k in repo.asset_graph.asset_check_keys}
    assert {
        ("market/raw_ticks", "raw_ticks_obey_market_rules"),
        ("market/ohlcv_1d", "ohlc_consistent"),
        ("market/ohlcv_1m", "ohlc_consistent"),
        ("market/ohlcv_1d", "volume_reconciles"),
        ("market/ohlcv_1d", "listed_symbols_complete"),
    } <= checks
    assert {s.name for s in repo.schedule_defs} == {"daily_close_schedule"}
    assert {s.name for s in repo.sensor_defs} == {
        "landing_file_sensor", "daily_close_chain_sensor", "dbt_marts_after_close_sensor", "dead_run_sensor",
        "alerts_sensor"}  # fmt: skip
    assert {"warehouse", "market_source"} <= set(repo.get_top_level_resources())
    jobs = {j.name for j in repo.get_all_jobs()}
    assert {"market_daily_close", "market_data", "features", "train", "predict", "evaluate"} <= jobs
    assert {"backtest", "risk", "landing_file_ingest", "dbt_marts"} <= jobs
    assert {t.job_name for t in repo.get_sensor_def("daily_close_chain_sensor").targets} == {"backtest", "risk"}
    assert {"features/daily", "features/universe", "ml/models", "ml/predictions", "ml/evaluation"} <= keys
    graph = repo.asset_graph
    universe = dg.AssetKey(["features", "universe"])
    assert {dg.AssetKey(["ml", "models"]), dg.AssetKey(["ml", "predictions"])} <= graph.get(universe).child_keys
    assert universe in set(defs.resolve_job_def("features").asset_layer.asset_graph.get_all_asset_keys())
    assert {
        ("features/daily", "features_nan_only_in_warmup"),
        ("features/daily", "feature_drift_psi"),
        ("ml/models", "oos_rank_ic_above_minimum"),
    } <= checks


def test_only_market_rules_the_model_gate_and_the_backtest_rule_checks_block():
    blocking = {
        (spec.asset_key.to_user_string(), spec.name): spec.blocking
        for checks in defs.asset_checks
        for spec in checks.check_specs
    }
    assert blocking.pop(("market/raw_ticks", "raw_ticks_obey_market_rules")) is True
    assert blocking.pop(("ml/models", "oos_rank_ic_above_minimum")) is True
    for strategy in ("topk", "topk_overlay", "ma_momentum", "bollinger", "equal_weight"):
        assert blocking.pop((f"backtest/{strategy}", "cash_never_negative")) is True
        assert blocking.pop((f"backtest/{strategy}", "fills_follow_exchange_rules")) is True
    assert not any(blocking.values())  # everything else, the risk limits included, only warns or fails softly


def test_partitions_are_exactly_the_trading_days():
    keys = trading_day_partitions.get_partition_keys_in_range(dg.PartitionKeyRange("2024-01-02", "2024-12-31"))
    expected = [d.isoformat() for d in calendar_days(date(2024, 1, 2), date(2024, 12, 31))]
    assert keys == expected
    assert "2024-02-12" not in keys  # Tết 2024
    assert "2024-04-30" not in keys and "2024-09-02" not in keys


def test_the_warehouse_password_is_an_env_var_reference_not_a_value(monkeypatch) -> None:
    from vn_pipeline.defs.resources import build_resources
    from vn_pipeline.lib.warehouse import masked

    monkeypatch.setenv("VN_PIPELINE_DATABASE_URL", "postgresql://quant:s3cret@db.example:5432/vn")
    warehouse = build_resources()["warehouse"]
    assert "s3cret" not in repr(warehouse) and "s3cret" not in str(warehouse.model_dump())
    assert masked("postgresql://quant:s3cret@db.example:5432/vn") == "postgresql://quant:***@db.example:5432/vn"


def test_the_shared_keys_name_defined_assets_and_no_domain_imports_another_domains_assets():
    import ast
    from pathlib import Path

    from vn_pipeline.defs import common
    from vn_pipeline.defs.backtest.assets import STRATEGY_ASSETS

    defined = set(defs.get_repository_def().asset_graph.get_all_asset_keys())
    shared = [value for value in vars(common).values() if isinstance(value, dg.AssetKey)]
    shared += list(common.BACKTESTS.values())
    assert len(shared) >= 12 and set(shared) <= defined  # a mistyped key would be an undefined external asset
    assert {asset.key for asset in STRATEGY_ASSETS.values()} == {common.BACKTESTS[s] for s in common.TRADED_STRATEGIES}
    root = Path(common.__file__).parent
    for domain in ("market_data", "backtest", "risk", "ml", "features"):
        for module in (root / domain).glob("*.py"):
            for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("vn_pipeline.defs."):
                    parts = node.module.split(".")
                    allowed = (domain, "common", "resources", "partitions", "trading_alerts")
                    assert parts[2] in allowed, (module.name, node.module)


def test_the_launchpad_validates_the_config_choices():
    """Fill price, weighting, label entry, normalisation and split mode are enums in the config schema."""
    import pytest

    choices = [
        ("backtest", "backtest__topk", {"fill": "vwap", "weighting": "risk_parity"}, {"weighting": "min_var"}),
        ("backtest", "backtest__bollinger", {"fill": "close"}, {"fill": "open"}),
        ("train", "ml__models", {"entry": "vwap", "label_normalization": "rank", "mode": "rolling"},
         {"label_normalization": "zscores"}),
        ("train", "ml__models", {"label_normalization": "none"}, {"entry": "close"}),
    ]  # fmt: skip
    for job_name, op, good, bad in choices:
        job = defs.resolve_job_def(job_name)
        assert dg.validate_run_config(job, {"ops": {op: {"config": good}}})
        with pytest.raises(dg.DagsterInvalidConfigError):
            dg.validate_run_config(job, {"ops": {op: {"config": bad}}})


def test_metadata_tables_keep_types_and_store_nan_as_none():
    import numpy as np
    import pandas as pd

    from vn_pipeline.defs.common import table

    frame = pd.DataFrame(
        {"n": [1, 2], "x": [0.5, np.nan], "ok": [True, False], "day": pd.to_datetime(["2024-01-02"] * 2).date}
    )
    value = table(frame.set_index("n"), index="n")
    assert [(c.name, c.type) for c in value.schema.columns] == [
        ("n", "int"),
        ("x", "float"),
        ("ok", "bool"),
        ("day", "string"),
    ]
    assert [r.data for r in value.records] == [
        {"n": 1, "x": 0.5, "ok": True, "day": "2024-01-02"},
        {"n": 2, "x": None, "ok": False, "day": "2024-01-02"},
    ]
    assert table(frame.iloc[:0]).records == [] and len(table(frame.iloc[:0]).schema.columns) == 4
