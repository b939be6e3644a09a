"""The exporter's collector against a real warehouse and a real Dagster instance: every figure compared with what
the planted rows and runs imply (vn_pipeline_tests/metrics_data.py), computed here by other means; then a real
Prometheus server scraping the exporter, with the repository's alert rules loaded."""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import time
import urllib.parse
import urllib.request
import zoneinfo
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from prometheus_client import CollectorRegistry, generate_latest, start_http_server

from vn_pipeline.lib.metrics import clock
from vn_pipeline.lib.warehouse import migrate
from vn_pipeline.metrics_server import build_registry
from vn_pipeline_tests import metrics_data as data
from vn_pipeline_tests.databases import own_database
from vn_pipeline_tests.instances import postgres_instance
from vn_pipeline_tests.prometheus_tools import RULES_DIR, require_binary

HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
NOW = dt.datetime(2026, 12, 2, 10, 0, tzinfo=HCM)  # Wednesday morning: Monday is 2 trading days old


def midnight(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=HCM).timestamp()


@pytest.fixture(scope="module")
def registry(warehouse_url: str) -> Iterator[CollectorRegistry]:
    with own_database(warehouse_url, "metrics") as url, postgres_instance(warehouse_url) as instance:
        migrate(url)
        with psycopg.connect(url) as conn:
            data.populate_warehouse(conn)
        data.populate_instance(instance)
        yield build_registry(url, instance, data.defs, data.LIMITS, now=lambda: NOW)


def samples(registry: CollectorRegistry) -> dict[tuple[str, frozenset], float]:
    """One scrape, as {(name, labels): value} (get_sample_value would scrape again for every figure)."""
    return {(s.name, frozenset(s.labels.items())): s.value for m in registry.collect() for s in m.samples}


def value(scrape: CollectorRegistry | dict, name: str, **labels: str) -> float | None:
    scrape = samples(scrape) if isinstance(scrape, CollectorRegistry) else scrape
    return scrape.get((name, frozenset(labels.items())))


def test_warehouse_figures(registry: CollectorRegistry) -> None:
    scrape = samples(registry)
    v = lambda name, **labels: value(scrape, name, **labels)  # noqa: E731
    assert v("vn_pipeline_metrics_source_up", source="warehouse") == 1
    assert v("vn_pipeline_last_close_data_timestamp_seconds") == midnight(data.CLOSE_DAY)
    # rate: the rule's rows over what arrived that day in market.ohlcv_1d (8 stored + 3 quarantined)
    arrived = data.STORED_BARS + sum(data.QUARANTINED.values())
    for rule, n in data.QUARANTINED.items():
        assert v("vn_pipeline_quarantine_rows", rule=rule) == n
        assert v("vn_pipeline_quarantine_rate", rule=rule) == pytest.approx(n / arrived)
    assert v("vn_pipeline_quarantine_rows", rule="stale_rule") is None  # an older day's rule
    assert v("vn_pipeline_model_oos_rank_ic") == pytest.approx(data.APPROVED_RANK_IC)
    assert v("vn_pipeline_strategy_nav", strategy="topk") == data.EQUITY[-1]
    assert v("vn_pipeline_strategy_drawdown", strategy="topk") == pytest.approx(data.EQUITY[-1] / max(data.EQUITY) - 1)
    assert v("vn_pipeline_strategy_sharpe", strategy="topk") == data.STATS["sharpe"]
    assert v("vn_pipeline_strategy_turnover", strategy="topk") == data.STATS["turnover"]
    assert v("vn_pipeline_risk_var_95", strategy="topk") == data.VAR[max(data.VAR)]
    assert v("vn_pipeline_risk_cvar_95", strategy="topk") == data.CVAR_LATEST
    assert v("vn_pipeline_risk_drawdown", strategy="topk") == -0.25
    assert v("vn_pipeline_foreign_room_usage", strategy="topk", symbol="FPT") == 0.8
    text = generate_latest(registry).decode()
    assert 'symbol="VCB"' not in text and 'symbol="HPG"' not in text  # cap unknown; no longer held
    assert v("vn_pipeline_risk_limit_max_var_95") == data.LIMITS["max_var_95"]
    assert v("vn_pipeline_risk_limit_max_drawdown") == data.LIMITS["max_drawdown"]


def test_market_clock(registry: CollectorRegistry) -> None:
    registry = samples(registry)  # type: ignore[assignment]
    assert value(registry, "vn_pipeline_is_trading_day") == 1
    assert value(registry, "vn_pipeline_today_timestamp_seconds") == midnight(NOW.date())
    due = dt.datetime(2026, 12, 2, 16, 0, tzinfo=HCM).timestamp()
    assert value(registry, "vn_pipeline_close_data_due_timestamp_seconds") == due
    saturday = dt.datetime(2026, 12, 5, 12, 0, tzinfo=HCM)
    assert not clock.today_is_trading_day(saturday)
    # Sunday night UTC is already Monday in Hanoi
    assert clock.market_today(dt.datetime(2026, 11, 29, 18, 0, tzinfo=dt.UTC)) == dt.date(2026, 11, 30)
    assert clock.age_in_trading_days(dt.date(2026, 11, 27), saturday) == 5  # Fri -> next Fri


def test_dagster_figures(registry: CollectorRegistry) -> None:
    scrape = samples(registry)
    v = lambda name, **labels: value(scrape, name, **labels)  # noqa: E731
    assert v("vn_pipeline_metrics_source_up", source="dagster") == 1
    # the newest partition (2026-11-30), though 2026-11-27 ran last
    assert v("vn_pipeline_asset_last_partition_timestamp_seconds", asset="metrics/bars") == midnight(data.CLOSE_DAY)
    assert v("vn_pipeline_asset_freshness_trading_days", asset="metrics/bars") == 2
    assert v("vn_pipeline_asset_rows_written", asset="metrics/bars") == data.BAR_ROWS
    assert v("vn_pipeline_asset_rows_written", asset="metrics/model") == 1
    assert v("vn_pipeline_asset_rows_written", asset="metrics/broken") is None  # never materialized
    assert v("vn_pipeline_check_status", asset="metrics/bars", check="bars_sane", severity="ERROR") == 0
    assert v("vn_pipeline_check_status", asset="metrics/bars", check="bars_fresh", severity="WARN") == 1
    # the blocking check's failure fails its runs
    assert v("vn_pipeline_runs_total", job="metrics_bars", status="FAILURE") == 2
    assert v("vn_pipeline_runs_total", job="metrics_model", status="SUCCESS") == 1
    assert v("vn_pipeline_runs_total", job="metrics_bars", status="SUCCESS") == 0
    assert v("vn_pipeline_runs_total", job="metrics_broken", status="FAILURE") == 0  # bounded: every job, even idle
    assert v("vn_pipeline_run_duration_seconds", job="metrics_broken") is None
    assert 0 < v("vn_pipeline_run_duration_seconds", job="metrics_model") < 120


def test_a_source_that_cannot_be_read_is_reported_not_raised(warehouse_url: str) -> None:
    broken = warehouse_url.rsplit("/", 1)[0] + "/no_such_database"
    registry = build_registry(broken, None, None, data.LIMITS, now=lambda: NOW)
    assert value(registry, "vn_pipeline_metrics_source_up", source="warehouse") == 0
    assert value(registry, "vn_pipeline_strategy_nav", strategy="topk") is None
    assert value(registry, "vn_pipeline_is_trading_day") == 1  # what needs no source is still served


def test_no_instance_serves_the_warehouse_alone(warehouse_url: str) -> None:
    registry = build_registry(warehouse_url, None, None, data.LIMITS, now=lambda: NOW)
    assert value(registry, "vn_pipeline_metrics_source_up", source="dagster") == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(port: int, path: str, **params: str) -> dict:
    url = f"http://127.0.0.1:{port}/api/v1/{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)["data"]


def _wait_for(probe: Callable[[], object], what: str, seconds: float = 60) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            found = probe()
        except OSError:  # the server is still starting
            found = None
        if found:
            return found
        time.sleep(0.5)
    raise AssertionError(f"Prometheus never showed {what}")


def test_a_real_prometheus_scrapes_the_exporter_and_fires_the_rules(
    registry: CollectorRegistry, tmp_path: Path
) -> None:
    binary = require_binary("prometheus")
    exporter_port, prometheus_port = _free_port(), _free_port()
    server, thread = start_http_server(exporter_port, addr="127.0.0.1", registry=registry)
    config = tmp_path / "prometheus.yml"
    config.write_text(
        # A scrape reads the warehouse and the instance (~0.5 s, more on a loaded machine): 3 s leaves it room.
        "global: {scrape_interval: 3s, scrape_timeout: 3s, evaluation_interval: 1s}\n"
        f"rule_files: ['{RULES_DIR / 'vn_pipeline.rules.yml'}']\n"
        "scrape_configs:\n"
        "  - job_name: vn_pipeline\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{exporter_port}']}}]\n"
    )
    command = [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
               f"--web.listen-address=127.0.0.1:{prometheus_port}"]  # fmt: skip
    prometheus = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        try:
            nav = _wait_for(lambda: _api(prometheus_port, "query", query="vn_pipeline_strategy_nav")["result"], "NAV")
        except AssertionError as missing:
            targets = _api(prometheus_port, "targets")["activeTargets"]
            raise AssertionError(f"{missing}; targets: {[(t['health'], t['lastError']) for t in targets]}") from None
        assert nav[0]["metric"]["strategy"] == "topk" and float(nav[0]["value"][1]) == data.EQUITY[-1]
        assert nav[0]["metric"]["job"] == "vn_pipeline"
        rate = _api(prometheus_port, "query", query='vn_pipeline_quarantine_rate{rule="price_band"}')["result"]
        assert float(rate[0]["value"][1]) == pytest.approx(2 / 11)
        fresh = _api(prometheus_port, "query", query='vn_pipeline_asset_freshness_trading_days{asset="metrics/bars"}')
        assert float(fresh["result"][0]["value"][1]) == 2

        def firing() -> set[str]:
            alerts = _api(prometheus_port, "alerts")["alerts"]
            return {a["labels"]["alertname"] for a in alerts if a["state"] == "firing"}

        # VaR 4.5% > the 3% limit; the blocking check bars_sane failed; drawdown -25% beyond -20%
        expected = {"VaRBeyondLimit", "BlockingCheckFailed", "DrawdownBeyondLimit"}
        fired = _wait_for(lambda: firing() >= expected and firing(), "the alerts")
        assert "WarnCheckFailed" not in fired  # the WARN check passed
        assert "MetricsSourceDown" not in fired
    finally:
        prometheus.terminate()
        prometheus.wait(timeout=30)
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        list(registry.collect())  # waits for a scrape still in flight (one at a time) before the databases go
