"""The Grafana dashboards (docker/grafana/build_dashboards.py) against a warehouse the real jobs wrote: every SQL
query of every panel runs as the read-only role and returns rows with the columns its panel names, so a renamed
column breaks this test and not a dashboard; the committed JSON is what the generator builds; every PromQL
expression parses and uses only the exporter's metric names."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import pytest
import yaml
from psycopg import sql

from vn_pipeline.definitions import defs
from vn_pipeline.defs.backtest.assets import topk
from vn_pipeline.defs.resources import MarketSourceResource, WarehouseResource
from vn_pipeline.lib.alerts.messages import Notice
from vn_pipeline.lib.alerts.store import insert_notice
from vn_pipeline.lib.market.calendar import next_trading_day, previous_trading_day
from vn_pipeline.lib.market_data.tick_rules import validate_ticks
from vn_pipeline.lib.warehouse import migrate
from vn_pipeline.lib.warehouse.quarantine import replace_quarantine
from vn_pipeline.lib.warehouse.reads import read_frame
from vn_pipeline.runs import run_job, run_window
from vn_pipeline_tests.databases import own_database
from vn_pipeline_tests.instances import postgres_instance
from vn_pipeline_tests.seeded_models import seed_reversal_predictions

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "docker" / "grafana" / "build_dashboards.py"
END = date(2022, 6, 30)  # a window no other test writes (its own database anyway)
START = previous_trading_day(END, 49)
SCORED = next_trading_day(START, 10)
STRATEGY = "topk"
READER = "vn_pipeline_reader"
# The exporter's metric names (vn_pipeline/ops metrics, issue 12 §2): a dashboard may use no other.
METRICS = {
    "vn_pipeline_asset_last_partition_timestamp_seconds", "vn_pipeline_asset_freshness_trading_days",
    "vn_pipeline_asset_rows_written", "vn_pipeline_check_status", "vn_pipeline_quarantine_rows",
    "vn_pipeline_quarantine_rate", "vn_pipeline_runs_total", "vn_pipeline_run_duration_seconds",
    "vn_pipeline_model_oos_rank_ic", "vn_pipeline_strategy_nav", "vn_pipeline_strategy_drawdown",
    "vn_pipeline_strategy_sharpe", "vn_pipeline_strategy_turnover", "vn_pipeline_risk_var_95",
    "vn_pipeline_risk_cvar_95", "vn_pipeline_foreign_room_usage", "vn_pipeline_last_close_data_timestamp_seconds",
}  # fmt: skip


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_dashboards", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def boards() -> dict[str, dict[str, Any]]:
    return _generator().dashboards()


def _panels(boards: dict[str, dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, board in boards.items():
        for panel in board["panels"]:
            if panel["type"] != "row":
                yield f"{name}: {panel['title']}", panel


def _sql_targets(boards: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    return [(where, panel, t) for where, panel in _panels(boards) for t in panel["targets"] if "rawSql" in t]


def _grafana_to_sql(text: str) -> str:
    """What Grafana sends the server: its time-range macro over a range wider than the data, the variable's value."""
    text = re.sub(r"\$__timeFilter\(([^)]+)\)", r"\1 BETWEEN '2000-01-01T00:00:00Z' AND '2100-01-01T00:00:00Z'", text)
    return text.replace("$strategy", STRATEGY)


def _quarantine_a_bad_tick(url: str) -> None:
    """A vendor tick above the day's ceiling, through the pipeline's own tick rules into market.quarantine, and
    its alert in ops.alerts."""
    with psycopg.connect(url) as conn:
        ticks = read_frame(conn, "SELECT * FROM market.raw_ticks WHERE trading_date = %s ORDER BY symbol, seq LIMIT 5",
                           (END,))  # fmt: skip
        listings = read_frame(conn, "SELECT * FROM market.listings WHERE trading_date = %s", (END,))
        ceiling = listings.set_index("symbol").loc[ticks["symbol"].iloc[0], "ceiling_price"]
        ticks.loc[ticks.index[-1], "price"] = ceiling * 2
        checked = validate_ticks(ticks, listings, source="planted.csv")
        assert len(checked.quarantined) >= 1
        replace_quarantine(conn, "market.raw_ticks", checked.quarantined, END, END)
        # the alert the sensor makes of it, stored as lib/alerts stores it (the sensor is test_alerts.py's)
        notice = Notice(kind="failure", severity="critical", subject="market/raw_ticks:vendor_files_ingested",
                        title="vendor_files_ingested failed", body=checked.quarantined["detail"].iloc[0],
                        partition_key=END.isoformat(), asset_key="market/raw_ticks",
                        check_name="vendor_files_ingested", source_event=1)  # fmt: skip
        insert_notice(conn, notice, "json://127.0.0.1:9/", "failed", datetime.now(UTC))
        conn.commit()


@pytest.fixture(scope="module")
def warehouse(warehouse_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """market_data → seeded predictions → backtest/topk → the day's risk report, as the demo runs them (the other
    backtests write the same tables: one is enough, and each costs seconds)."""
    with own_database(warehouse_url, "vn_pipeline_dashboards") as url:
        migrate(url)
        resources = {"warehouse": WarehouseResource(database_url=url),
                     "market_source": MarketSourceResource(n_symbols=6, intraday_since=END.isoformat())}  # fmt: skip
        with postgres_instance(url, str(tmp_path_factory.mktemp("dagster_dashboards"))) as instance:
            assert run_window(defs, "market_data", START, END, instance, resources=resources).success
            seed_reversal_predictions(url, START, SCORED, END)
            _quarantine_a_bad_tick(url)
            config = {"ops": {"backtest__topk": {"config": {"k": 3, "n_drop": 1}}}}
            assert run_job(defs, "backtest", instance, config, resources, assets={topk.key}, checks=set()).success
            assert run_window(defs, "risk", END, END, instance, resources=resources).success
        yield url


def test_every_sql_query_returns_the_columns_its_panel_reads_as_the_read_only_role(boards, warehouse):
    targets = _sql_targets(boards)
    assert len(targets) >= 15  # every dashboard has its SQL panels
    assert {where.split(":")[0] for where, _, _ in targets} == set(boards)
    variables = [v for board in boards.values() for v in board.get("templating", {}).get("list", [])]
    with psycopg.connect(warehouse) as conn:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(READER)))
        for variable in variables:  # the $strategy picker lists the stored backtests, the default among them
            options = [row[0] for row in conn.execute(variable["query"])]
            assert variable["current"]["value"] in options, options
        for where, panel, target in targets:
            assert target["datasource"]["uid"] == panel["datasource"]["uid"] == "vn-warehouse", where
            cur = conn.execute(_grafana_to_sql(target["rawSql"]))
            columns = [c.name for c in cur.description]
            rows = cur.fetchall()
            assert rows, f"{where}: no rows on the demo's warehouse"
            if target["format"] == "time_series":
                assert columns[0] == "time", (where, columns)
                assert {row[0] for row in rows} and all(row[0] is not None for row in rows), where
                if "metric" in columns:  # long format: one series per metric value
                    assert columns == ["time", "metric", "value"], (where, columns)
                value_columns = [i for i, name in enumerate(columns) if name not in ("time", "metric")]
                assert any(row[i] is not None for row in rows for i in value_columns), f"{where}: all values NULL"
            named = {o["matcher"]["options"] for o in panel["fieldConfig"]["overrides"]
                     if o["matcher"]["id"] == "byName"}  # fmt: skip
            assert named <= set(columns), f"{where}: the panel formats {named - set(columns)}, not returned"
        conn.rollback()


def test_the_book_figures_match_the_warehouse(boards, warehouse):
    """Spot checks that the SQL computes what its title says, on the same rows."""
    by_title = {panel["title"]: target for _, panel, target in _sql_targets(boards)}
    with psycopg.connect(warehouse) as conn:

        def run(title: str) -> list[tuple]:
            return conn.execute(_grafana_to_sql(by_title[title]["rawSql"])).fetchall()

        equity = [e for (e,) in conn.execute(
            "SELECT equity FROM backtest.equity WHERE strategy = %s ORDER BY trading_date", (STRATEGY,))]  # fmt: skip
        daily = run("Daily P&L ($strategy)")
        assert len(daily) == len(equity) - 1
        assert sum(p for _, p in daily) == pytest.approx(equity[-1] - equity[0])
        monthly = run("P&L by month ($strategy)")
        assert sum(r[1] for r in monthly) == pytest.approx(equity[-1] - equity[0])
        months_return = 1.0
        for row in monthly:
            months_return *= 1 + row[2]
        assert months_return == pytest.approx(equity[-1] / equity[0])
        drawdowns = [v for _, metric, v in run("Drawdown from peak") if metric == STRATEGY]
        assert max(drawdowns) == pytest.approx(0.0) and min(drawdowns) < 0
        positions = run("Positions at the last close ($strategy)")
        assert sum(r[4] for r in positions) <= 1 + 1e-9
        fill_rate = [r[1] for r in run("Fill rate of decisions ($strategy)")]
        assert all(0 <= f <= 1 for f in fill_rate) and max(fill_rate) > 0


def test_the_reader_reads_every_project_table_and_writes_none(warehouse):
    with psycopg.connect(warehouse) as conn:
        unreadable = conn.execute(
            "SELECT schemaname || '.' || tablename FROM pg_tables WHERE schemaname NOT IN ('public',"
            " 'information_schema') AND schemaname NOT LIKE 'pg\\_%%' AND schemaname NOT LIKE '\\_timescaledb%%'"
            " AND NOT has_table_privilege(%s, format('%%I.%%I', schemaname, tablename), 'SELECT')",
            (READER,),
        ).fetchall()
        assert unreadable == []  # a migration that adds a schema must grant it (see 020_readonly_role.sql)
        login = conn.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (READER,)).fetchone()
        assert login == (False,)  # the login user with a password is docker's init script's, not a migration's
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(READER)))
        assert conn.execute("SELECT count(*) FROM backtest.runs").fetchone()[0] >= 1
        for statement in ("DELETE FROM backtest.runs", "CREATE TABLE backtest.x (a int)",
                          "UPDATE risk.summary SET value = 0"):  # fmt: skip
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(statement)
        conn.rollback()


def test_the_committed_dashboards_are_what_the_generator_builds():
    generator = _generator()
    for name, build in generator.BUILDERS.items():
        committed = (generator.OUT / name).read_text(encoding="utf-8")
        assert committed == generator.render(build()), f"{name} is stale: run docker/grafana/build_dashboards.py"
    assert generator.main(["--check"]) == 0
    provider = yaml.safe_load((generator.OUT / "dashboards.yml").read_text(encoding="utf-8"))
    assert provider["providers"][0]["options"]["path"] == "/etc/grafana/provisioning/dashboards"


def test_panels_use_the_provisioned_datasources_and_every_promql_its_metric_names(boards, tmp_path):
    sources = yaml.safe_load((ROOT / "docker/grafana/provisioning/datasources/datasources.yml").read_text())
    uids = {s["uid"]: s["type"] for s in sources["datasources"]}
    exprs: list[str] = []
    for where, panel in _panels(boards):
        for target in panel["targets"]:
            assert uids.get(target["datasource"]["uid"]) == target["datasource"]["type"], where
            if "expr" in target:
                names = set(re.findall(r"\bvn_pipeline_[a-z0-9_]+", target["expr"]))
                assert names and names <= METRICS, (where, names - METRICS)
                exprs.append(target["expr"].replace("$strategy", STRATEGY))
    assert len(exprs) >= 15
    used = {name for expr in exprs for name in re.findall(r"\bvn_pipeline_[a-z0-9_]+", expr)}
    assert used == METRICS  # every figure the exporter serves is on a dashboard
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian's prometheus package): PromQL syntax not checked")
    # promtool parses rule expressions: each dashboard expression as a recording rule
    rules = {"groups": [{"name": "dashboards", "rules": [{"record": f"dashboard:expr_{i}", "expr": e}
                                                          for i, e in enumerate(exprs)]}]}  # fmt: skip
    path = tmp_path / "exprs.yml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    check = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
