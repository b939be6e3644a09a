"""The alerts sensor end to end: a real Dagster instance (the project's PostgreSQL storage), the real warehouse,
and real receivers on 127.0.0.1 — an SMTP server (aiosmtpd) and an HTTP server taking Apprise's JSON webhook
and ntfy posts."""

import email
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import psycopg
import pytest
from aiosmtpd.controller import Controller

from vn_pipeline import cli
from vn_pipeline.defs.automation.alerts import alerts_sensor
from vn_pipeline.defs.resources import WarehouseResource
from vn_pipeline.lib.alerts.config import parse_channels
from vn_pipeline.lib.alerts.delivery import Delivery, send
from vn_pipeline.lib.warehouse import migrate
from vn_pipeline_tests.databases import own_database
from vn_pipeline_tests.instances import postgres_instance

UI = "http://dagster.test:3000"
days = dg.DailyPartitionsDefinition(start_date="2025-06-01")


class Plan(dg.Config):
    bad_rows: int = 0


@dg.asset(key=["market", "toy_bars"], partitions_def=days)
def toy_bars() -> None:
    """Stands for a market asset: the checks below read nothing, their outcome is planted by run config."""


@dg.asset_check(asset=toy_bars, partitions_def=days)
def prices_positive(config: Plan) -> dg.AssetCheckResult:
    sample = [{"symbol": f"S{i}", "close": -1.0} for i in range(config.bad_rows)]
    return dg.AssetCheckResult(
        passed=config.bad_rows == 0,
        metadata={"rule": "close > 0", "offending_rows": config.bad_rows,
                  "sample": dg.TableMetadataValue(records=[dg.TableRecord(r) for r in sample],
                                                  schema=dg.TableSchema([dg.TableColumn("symbol"),
                                                                         dg.TableColumn("close", "float")]))},
    )  # fmt: skip


@dg.asset_check(asset=toy_bars, partitions_def=days)
def volume_usual(config: Plan) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=config.bad_rows == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"rule": "volume within 5x of its 20-day mean", "offending_rows": config.bad_rows},
    )


@dg.asset
def broken() -> None:
    raise RuntimeError("vendor unreachable")


defs = dg.Definitions(assets=[toy_bars, broken], asset_checks=[prices_positive, volume_usual])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HttpReceiver:
    """Records every POST; answers 500 while ``failing``."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict]] = []
        self.failing = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.failing:
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.posts.append((self.path, json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def at(self, path: str) -> list[dict]:
        return [body for p, body in self.posts if p == path]


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def texts(self) -> list[tuple[str, str]]:
        return [(m["Subject"], m.get_body(("plain",)).get_content()) for m in self.messages]


@pytest.fixture(scope="module")
def receivers() -> Iterator[tuple[HttpReceiver, Mailbox, int]]:
    http = HttpReceiver()
    mailbox = Mailbox()
    port = _free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    yield http, mailbox, port
    smtp.stop()
    http.server.shutdown()


@pytest.fixture(scope="module")
def alerts_url(warehouse_url: str) -> Iterator[str]:
    with own_database(warehouse_url, "alerts") as url:
        migrate(url)
        yield url


@pytest.fixture(scope="module")
def instance(warehouse_url: str) -> Iterator[dg.DagsterInstance]:
    with postgres_instance(warehouse_url) as local:
        yield local


def _rows(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT kind, severity, subject, partition_key, channel, status, attempts, last_error FROM ops.alerts"
            " ORDER BY id"
        ).fetchall()


def _run(instance: dg.DagsterInstance, day: str, bad_rows: int) -> None:
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={toy_bars.key})
    config = {"ops": {"market__toy_bars_prices_positive": {"config": {"bad_rows": bad_rows}},
                      "market__toy_bars_volume_usual": {"config": {"bad_rows": bad_rows}}}}  # fmt: skip
    result = job.execute_in_process(run_config=config, instance=instance, partition_key=day, raise_on_error=False)
    assert result.success


def _tick(instance: dg.DagsterInstance, url: str, cursor: str | None) -> tuple[str | None, str]:
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"warehouse": WarehouseResource(database_url=url)}
    )
    result = alerts_sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result.cursor, result.skip_reason.skip_message if result.skip_reason else ""


def test_failed_checks_alert_once_retry_group_and_recover(instance, alerts_url, receivers, monkeypatch, capsys):
    http, mailbox, smtp_port = receivers
    mail = f"mailto://127.0.0.1:{smtp_port}?from=vn-pipeline@localhost&to=ops@localhost"
    monkeypatch.setenv(
        "VN_PIPELINE_ALERT_URLS",
        f"critical={mail}, json://127.0.0.1:{http.port}/hook, ntfy://127.0.0.1:{http.port}/vn-alerts",
    )
    monkeypatch.setenv("VN_PIPELINE_UI_URL", UI)
    # one try per tick: Apprise spaces ntfy posts 5.5 s apart, so in-tick retries are tested on their own below
    monkeypatch.setenv("VN_PIPELINE_ALERT_ATTEMPTS", "1")
    monkeypatch.setenv("VN_PIPELINE_ALERT_BACKOFF_SECONDS", "0")
    monkeypatch.setenv("VN_PIPELINE_ALERT_QUIET_MINUTES", "60")

    _run(instance, "2025-06-02", bad_rows=3)
    cursor, said = _tick(instance, alerts_url, None)
    assert "2 failure(s)" in said
    hook = http.at("/hook")
    # the JSON webhook takes every severity: the ERROR check as critical, the WARN one as warning
    assert sorted(b["type"] for b in hook) == ["failure", "warning"]
    critical = next(b for b in hook if b["type"] == "failure")
    assert critical["title"] == "[critical] market/toy_bars:prices_positive failed on 2025-06-02"
    for part in ("Asset: market/toy_bars", "Partition: 2025-06-02", "Check: prices_positive (ERROR)",
                 "Rule: close > 0", "Rows breaking it: 3", "symbol=S0, close=-1.0", "Quarantined rows that day: 0",
                 f"Link: {UI}/assets/market/toy_bars?view=checks&checkDetail=prices_positive"):  # fmt: skip
        assert part in critical["message"], critical["message"]
    ntfy = [b for p, b in http.posts if p == "/"]
    assert sorted(b["title"] for b in ntfy) == sorted(b["title"] for b in hook)
    assert {b["topic"] for b in ntfy} == {"vn-alerts"}
    # e-mail takes critical only
    assert [subject for subject, _ in mailbox.texts()] == [critical["title"]]
    assert "Rows breaking it: 3" in mailbox.texts()[0][1]

    # ticking again, restarting from the stored cursor, or re-reading everything sends nothing twice
    received = (len(http.posts), len(mailbox.messages))
    cursor, _ = _tick(instance, alerts_url, cursor)
    _tick(instance, alerts_url, cursor)
    _tick(instance, alerts_url, None)
    _run(instance, "2025-06-02", bad_rows=3)  # the same failure evaluated again: still one alert
    cursor, _ = _tick(instance, alerts_url, cursor)
    assert (len(http.posts), len(mailbox.messages)) == received
    assert len(_rows(alerts_url)) == 5  # 2 failures: critical on 3 channels, warning on 2

    # another day failing within the quiet period: held back, then one digest once the period is over
    _run(instance, "2025-06-03", bad_rows=1)
    cursor, said = _tick(instance, alerts_url, cursor)
    assert "grouped" in said and (len(http.posts), len(mailbox.messages)) == received
    assert {r[5] for r in _rows(alerts_url) if r[3] == "2025-06-03"} == {"grouped"}
    monkeypatch.setenv("VN_PIPELINE_ALERT_QUIET_MINUTES", "0.002")
    time.sleep(0.3)
    cursor, said = _tick(instance, alerts_url, cursor)
    digests = http.at("/hook")[len(hook) :]
    assert sorted(b["title"].split(" since ")[0] for b in digests) == [
        "[critical] market/toy_bars:prices_positive: 1 more failure(s)",
        "[warning] market/toy_bars:volume_usual: 1 more failure(s)",
    ]
    assert len(digests) == 2 and all("Partitions: 2025-06-03" in b["message"] for b in digests)
    assert len(mailbox.messages) == 2 and "prices_positive: 1 more failure(s)" in mailbox.messages[-1]["Subject"]

    # a channel down keeps its alerts (failed, with its error) and gets them on a later tick
    monkeypatch.setenv("VN_PIPELINE_ALERT_QUIET_MINUTES", "0")
    http.failing = True
    before = len(http.posts)
    _run(instance, "2025-06-04", bad_rows=2)
    cursor, said = _tick(instance, alerts_url, cursor)
    down = [r for r in _rows(alerts_url) if r[3] == "2025-06-04" and "127.0.0.1:" + str(http.port) in r[4]]
    assert len(down) == 4 and {r[5] for r in down} == {"failed"}
    assert all(r[6] == 1 and "error=500" in (r[7] or "") for r in down), down
    assert "Partition: 2025-06-04" in mailbox.texts()[-1][1]  # the e-mail channel was up
    monkeypatch.setenv("VN_PIPELINE_DATABASE_URL", alerts_url)
    assert cli.main(["alerts", "--limit", "6"]) == 0
    listed = capsys.readouterr().out
    assert "critical  failed    failure      market/toy_bars:prices_positive" in listed and "2025-06-04" in listed
    assert "error after 1 attempt(s): Failed to send JSON POST notification" in listed
    http.failing = False
    cursor, said = _tick(instance, alerts_url, cursor)
    back = [r for r in _rows(alerts_url) if r[3] == "2025-06-04" and "127.0.0.1:" + str(http.port) in r[4]]
    assert {r[5] for r in back} == {"sent"} and all(r[6] == 2 for r in back)
    assert sum("2025-06-04" in b["title"] for _, b in http.posts[before:]) == 4
    mails = len(mailbox.messages)

    # passing again: one recovery notice per channel the failure went to, and only once
    _run(instance, "2025-06-02", bad_rows=0)
    cursor, _ = _tick(instance, alerts_url, cursor)
    cursor, _ = _tick(instance, alerts_url, cursor)
    recovered = [b for b in http.at("/hook") if b["title"].startswith("[recovered]")]
    assert sorted(b["title"] for b in recovered) == [
        "[recovered] market/toy_bars:prices_positive passes again on 2025-06-02",
        "[recovered] market/toy_bars:volume_usual passes again on 2025-06-02",
    ]
    assert len(mailbox.messages) == mails + 1 and mailbox.messages[-1]["Subject"].startswith("[recovered]")
    assert "prices_positive" in mailbox.messages[-1]["Subject"]


def test_failed_run_is_one_critical_alert(instance, alerts_url, receivers, monkeypatch):
    http, _, _ = receivers
    monkeypatch.setenv("VN_PIPELINE_ALERT_URLS", f"warning=json://127.0.0.1:{http.port}/warn-only,"
                       f" critical=json://127.0.0.1:{http.port}/runs")  # fmt: skip
    monkeypatch.setenv("VN_PIPELINE_UI_URL", UI)
    result = (
        defs.resolve_implicit_global_asset_job_def()
        .get_subset(asset_selection={broken.key})
        .execute_in_process(instance=instance, raise_on_error=False)
    )
    assert not result.success
    cursor, said = _tick(instance, alerts_url, None)
    cursor, _ = _tick(instance, alerts_url, cursor)
    assert "1 failed run(s)" in said
    runs = http.at("/runs")
    assert len(runs) == 1 and runs[0]["type"] == "failure" and http.at("/warn-only") == []
    assert runs[0]["title"].startswith("[critical] run of __ASSET_JOB failed")
    assert f"Link: {UI}/runs/{result.run_id}" in runs[0]["message"]


def test_send_retries_with_exponential_backoff(receivers):
    http, _, _ = receivers
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # records the backoff; recovers the receiver after the second wait
        waits.append(seconds)
        http.failing = len(waits) < 2

    http.failing = True
    channel = parse_channels(f"json://127.0.0.1:{http.port}/retry")[0]
    delivery = send(channel, "t", "b", "critical", attempts=4, backoff_seconds=0.5, sleep=sleep)
    assert delivery == Delivery(sent=True, attempts=3, error=None)
    assert waits == [0.5, 1.0]
    assert [b["title"] for b in http.at("/retry")] == ["t"]

    http.failing = True
    failed = send(channel, "t2", "b", "warning", attempts=2, backoff_seconds=0.0, sleep=lambda _: None)
    http.failing = False
    assert not failed.sent and failed.attempts == 2 and "error=500" in (failed.error or "")


def test_risk_trading_alerts_alert_once_per_failing_day(instance, alerts_url, receivers, monkeypatch):
    """The project's risk/report trading-alert checks over a 3-day window (one range run): each failing day is
    its own alert, from the days the check names in its metadata."""
    from vn_pipeline.definitions import defs as project
    from vn_pipeline.defs.resources import MarketSourceResource, RiskLimitsResource
    from vn_pipeline.runs import run_window

    http, _, _ = receivers
    monkeypatch.setenv("VN_PIPELINE_ALERT_URLS", f"json://127.0.0.1:{http.port}/trading")
    monkeypatch.setenv("VN_PIPELINE_ALERT_QUIET_MINUTES", "0")  # every day's alert at once (no grouping)
    days = [date(2025, 6, d) for d in (2, 3, 4, 5, 6)]
    # -3%, -4.1%, -7.5% (a day's loss beyond 5%; drawdown -14%), -4.7% (drawdown -18%): four losing days
    equity = [100.0, 97.0, 93.0, 86.0, 82.0]
    with psycopg.connect(alerts_url) as conn:
        for day, value in zip(days, equity, strict=True):
            conn.execute("INSERT INTO backtest.equity VALUES ('topk', %s, %s, 0)", (day, value))
            if day >= days[2]:  # risk/report covered the window's three days
                conn.execute("INSERT INTO risk.summary VALUES (%s, 'topk', 'nav', %s)", (day, value))
    keys = {dg.AssetCheckKey(dg.AssetKey(["risk", "report"]), name) for name in
            ("drawdown_within_alert_levels", "no_long_losing_streak", "day_loss_within_threshold")}  # fmt: skip
    resources = {"warehouse": WarehouseResource(database_url=alerts_url), "risk_limits": RiskLimitsResource(),
                 "market_source": MarketSourceResource(n_symbols=5)}  # fmt: skip
    streak = {"ops": {"risk__report_no_long_losing_streak": {"config": {"losing_days": 3}}}}
    run = run_window(project, "risk", days[2], days[4], instance, streak, resources, assets=set(), checks=keys)
    assert sorted(run.warnings) == sorted(f"risk/report:{k.name}" for k in keys) and not run.errors
    assert run.metadata["risk/report:drawdown_within_alert_levels"]["failed_days"] == ["2025-06-05", "2025-06-06"]

    cursor, _ = _tick(instance, alerts_url, None)
    _tick(instance, alerts_url, cursor)
    titles = sorted(b["title"] for b in http.at("/trading"))
    assert titles == [
        "[warning] risk/report:day_loss_within_threshold failed on 2025-06-05",
        "[warning] risk/report:drawdown_within_alert_levels failed on 2025-06-05",
        "[warning] risk/report:drawdown_within_alert_levels failed on 2025-06-06",
        "[warning] risk/report:no_long_losing_streak failed on 2025-06-05",
        "[warning] risk/report:no_long_losing_streak failed on 2025-06-06",
    ]
    deepest = next(
        b for b in http.at("/trading") if b["title"].endswith("drawdown_within_alert_levels failed on 2025-06-06")
    )
    assert "Rule: drawdown from peak not beyond -10%, -15%, -20%" in deepest["message"]
    assert "trading_date=2025-06-06, strategy=topk, value=-0.18" in deepest["message"]
    assert "threshold=-0.15" in deepest["message"]
