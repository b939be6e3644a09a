"""`vn-pipeline metrics`: a Prometheus exporter of the pipeline's figures, on 127.0.0.1 (prometheus-client).

One custom collector reads everything at scrape time, so a figure is never older than the scrape and the exporter
keeps no state: the warehouse (lib/metrics/warehouse.py: close data, quarantine, model, strategies, risk) and the
Dagster instance (per asset the last materialized partition and its rows, per check its latest evaluation, per job
its runs). A source that cannot be read drops its families for that scrape and says so in
``vn_pipeline_metrics_source_up{source}`` (0), rather than failing the whole scrape.

Label sets stay bounded: assets, checks, jobs, rules and strategies come from the code and the configuration;
symbols appear only on ``vn_pipeline_foreign_room_usage`` (the book's holdings).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import dagster as dg
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from vn_pipeline.lib.metrics import clock
from vn_pipeline.lib.metrics import warehouse as wh
from vn_pipeline.lib.warehouse.connection import connect

LOG = logging.getLogger(__name__)
DEFAULT_PORT = 9108  # docker/prometheus.yml scrapes metrics:9108 (the compose service `metrics`)
P = "vn_pipeline_"
# Runs by outcome: the terminal statuses (a run still going is not an outcome yet).
RUN_STATUSES = (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
COMPLETED_CHECK = {"SUCCEEDED", "FAILED"}


def risk_limits_from_env() -> dict[str, float]:
    """The limits the risk checks hold the book to (RiskLimitsResource, VN_PIPELINE_RISK_* as in
    defs/resources.py), exported so the alert rules compare against the same numbers."""
    from vn_pipeline.defs.resources import build_resources

    limits = build_resources()["risk_limits"]
    return {
        "max_drawdown": limits.max_drawdown,
        "max_var_95": limits.max_var_95,
        "max_single_name_weight": limits.max_single_name_weight,
    }


def _gauge(name: str, doc: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
    return GaugeMetricFamily(P + name, doc, labels=list(labels))


class PipelineCollector(Collector):
    """Every ``vn_pipeline_*`` family, computed at each scrape."""

    def __init__(
        self,
        warehouse_url: str,
        instance: dg.DagsterInstance | None,
        defs: dg.Definitions | None,
        limits: dict[str, float],
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.warehouse_url = warehouse_url
        self.instance = instance
        self.defs = defs
        self.limits = limits
        self.now = now
        self._lock = threading.Lock()  # one scrape at a time: the instance and the queries are not shared-safe

    def describe(self) -> list[Metric]:
        return []  # families depend on the data: no checks at registration (and no query then)

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            now = self.now()
            yield from self._market_clock(now)
            yield from self._limits()
            up = _gauge("metrics_source_up", "1 when the source could be read at this scrape", ["source"])
            for source, families in (("warehouse", self._warehouse), ("dagster", self._dagster)):
                try:
                    built = list(families(now))  # built whole first: a failure half-way exposes nothing of it
                except Exception:
                    LOG.exception("metrics: reading the %s failed", source)
                    up.add_metric([source], 0)
                    continue
                up.add_metric([source], 1)
                yield from built
            yield up

    def _market_clock(self, now: dt.datetime) -> Iterator[Metric]:
        trading = _gauge("is_trading_day", "1 when today (Asia/Ho_Chi_Minh) is a trading day on the VN calendar")
        trading.add_metric([], 1.0 if clock.today_is_trading_day(now) else 0.0)
        today = _gauge("today_timestamp_seconds", "today's midnight in Asia/Ho_Chi_Minh, unix seconds")
        today.add_metric([], clock.day_timestamp(clock.market_today(now)))
        due = _gauge("close_data_due_timestamp_seconds", "today's 16:00 Asia/Ho_Chi_Minh: the close's data is due")
        due.add_metric([], clock.close_data_due(now))
        return iter((trading, today, due))

    def _limits(self) -> Iterator[Metric]:
        docs = {
            "max_drawdown": "drawdown limit of the book, a positive fraction of its peak",
            "max_var_95": "one-day historical VaR 95% limit, a fraction of NAV",
            "max_single_name_weight": "largest weight of one name allowed, a fraction of NAV",
        }
        for name, doc in docs.items():
            family = _gauge(f"risk_limit_{name}", doc + " (VN_PIPELINE_RISK_* / RiskLimitsResource)")
            family.add_metric([], self.limits[name])
            yield family

    def _warehouse(self, now: dt.datetime) -> Iterator[Metric]:
        with connect(self.warehouse_url, autocommit=True) as conn:
            close_day = wh.last_close_day(conn)
            q_day, rules = wh.quarantine(conn)
            model = wh.approved_model(conn)
            books = wh.strategies(conn)
            reports = wh.risk(conn)
            rooms = wh.foreign_room_usage(conn)
        if close_day is not None:
            close = _gauge("last_close_data_timestamp_seconds", "newest trading day with daily bars stored")
            close.add_metric([], clock.day_timestamp(close_day))
            yield close
        if q_day is not None:
            day = _gauge("quarantine_trading_day_timestamp_seconds", "the day the quarantine figures are of")
            day.add_metric([], clock.day_timestamp(q_day))
            rows = _gauge("quarantine_rows", "rows quarantined by the rule on the latest quarantined day", ["rule"])
            rate = _gauge(
                "quarantine_rate",
                "rows quarantined by the rule / rows that arrived that day in the tables it quarantined from"
                " (stored + quarantined)",
                ["rule"],
            )
            for r in rules:
                rows.add_metric([r.rule], r.rows)
                if r.rate is not None:
                    rate.add_metric([r.rule], r.rate)
            yield from (day, rows, rate)
        if model is not None and model[1] is not None:
            ic = _gauge("model_oos_rank_ic", "walk-forward out-of-sample Rank IC of the newest approved model")
            ic.add_metric([], model[1])
            yield ic
        nav = _gauge("strategy_nav", "the backtest's equity on its latest day, VND", ["strategy"])
        drawdown = _gauge("strategy_drawdown", "equity / its peak - 1 on the latest day (<= 0)", ["strategy"])
        sharpe = _gauge("strategy_sharpe", "annualised Sharpe ratio of the backtest run", ["strategy"])
        turnover = _gauge("strategy_turnover", "annualised one-way turnover of the backtest run", ["strategy"])
        for book in books:
            nav.add_metric([book.strategy], book.nav)
            drawdown.add_metric([book.strategy], book.drawdown)
            if book.sharpe is not None:
                sharpe.add_metric([book.strategy], book.sharpe)
            if book.turnover is not None:
                turnover.add_metric([book.strategy], book.turnover)
        yield from (nav, drawdown, sharpe, turnover)
        var = _gauge("risk_var_95", "one-day historical VaR 95% of the book, fraction of NAV", ["strategy"])
        cvar = _gauge("risk_cvar_95", "one-day historical CVaR 95% of the book, fraction of NAV", ["strategy"])
        dd = _gauge("risk_drawdown", "the risk report's drawdown of the book from its peak (<= 0)", ["strategy"])
        report_day = _gauge("risk_report_timestamp_seconds", "trading day of the latest risk report", ["strategy"])
        for strategy, (day, values) in sorted(reports.items()):
            report_day.add_metric([strategy], clock.day_timestamp(day))
            for family, metric in ((var, "var_hist_95"), (cvar, "cvar_hist_95"), (dd, "drawdown")):
                if values.get(metric) is not None:
                    family.add_metric([strategy], values[metric])
        yield from (var, cvar, dd, report_day)
        room = _gauge(
            "foreign_room_usage",
            "share of the foreign ownership cap used, per held name of the latest risk report",
            ["strategy", "symbol"],
        )
        for strategy, symbol, usage in rooms:
            room.add_metric([strategy, symbol], usage)
        yield room

    def _dagster(self, now: dt.datetime) -> Iterator[Metric]:
        if self.instance is None or self.defs is None:
            return
        yield from self._assets(now)
        yield from self._checks()
        yield from self._runs()

    def _assets(self, now: dt.datetime) -> Iterator[Metric]:
        graph = self.defs.resolve_asset_graph()
        keys = sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string())
        latest = self.instance.get_latest_materialization_events(keys)
        last = _gauge(
            "asset_last_partition_timestamp_seconds",
            "the newest materialized partition's trading day (unpartitioned: the day of the last materialization)",
            ["asset"],
        )
        fresh = _gauge("asset_freshness_trading_days", "age of that day in trading days (VN calendar)", ["asset"])
        rows = _gauge("asset_rows_written", "rows of the last materialization (dagster/row_count)", ["asset"])
        when = _gauge("asset_last_materialization_timestamp_seconds", "when it was last materialized", ["asset"])
        for key in keys:
            event = latest.get(key)
            if event is None:
                continue
            name = key.to_user_string()
            when.add_metric([name], event.timestamp)
            if graph.get(key).is_partitioned:
                partitions = self.instance.get_materialized_partitions(key)
                day = dt.date.fromisoformat(max(partitions)) if partitions else None
            else:
                day = clock.market_today(dt.datetime.fromtimestamp(event.timestamp, dt.UTC))
            if day is not None:
                last.add_metric([name], clock.day_timestamp(day))
                fresh.add_metric([name], clock.age_in_trading_days(day, now))
            materialization = event.asset_materialization
            count = materialization.metadata.get("dagster/row_count") if materialization else None
            if count is not None:
                rows.add_metric([name], float(count.value))
        yield from (last, fresh, rows, when)

    def _checks(self) -> Iterator[Metric]:
        keys = sorted(self.defs.resolve_asset_graph().asset_check_keys, key=lambda k: k.to_user_string())
        storage = self.instance.event_log_storage
        records = dict(storage.get_latest_asset_check_execution_by_key(keys))
        status = _gauge(
            "check_status", "latest evaluation of the check: 1 passed, 0 failed", ["asset", "check", "severity"]
        )
        for key in keys:
            record = records.get(key)
            if record is not None and record.status.value not in COMPLETED_CHECK:
                # Planned by a run still going (or one that died): the latest evaluation is the one before.
                done = storage.get_asset_check_execution_history(key, limit=1, status=_completed_statuses())
                record = done[0] if done else None
            evaluation = record.event.asset_check_evaluation if record and record.event else None
            if evaluation is None:
                continue
            labels = [key.asset_key.to_user_string(), key.name, evaluation.severity.value]
            status.add_metric(labels, 1.0 if evaluation.passed else 0.0)
        yield status

    def _runs(self) -> Iterator[Metric]:
        jobs = sorted(job.name for job in self.defs.resolve_all_job_defs())
        total = CounterMetricFamily(P + "runs", "runs of the job by outcome", labels=["job", "status"])
        duration = _gauge("run_duration_seconds", "wall time of the job's last finished run", ["job"])
        finished = _gauge("run_last_finished_timestamp_seconds", "when the job's last run finished", ["job"])
        for job in jobs:
            for run_status in RUN_STATUSES:
                n = self.instance.get_runs_count(dg.RunsFilter(job_name=job, statuses=[run_status]))
                total.add_metric([job, run_status.value], n)
            records = self.instance.get_run_records(
                dg.RunsFilter(job_name=job, statuses=list(RUN_STATUSES)), limit=1, order_by="update_timestamp"
            )
            if records and records[0].start_time and records[0].end_time:
                duration.add_metric([job], records[0].end_time - records[0].start_time)
                finished.add_metric([job], records[0].end_time)
        yield from (total, duration, finished)


def _completed_statuses() -> set[Any]:
    from dagster._core.storage.asset_check_execution_record import COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES

    return set(COMPLETED_ASSET_CHECK_EXECUTION_RECORD_STATUSES)


def build_registry(
    warehouse_url: str,
    instance: dg.DagsterInstance | None = None,
    defs: dg.Definitions | None = None,
    limits: dict[str, float] | None = None,
    now: Callable[[], dt.datetime] | None = None,
) -> CollectorRegistry:
    """A registry holding only the pipeline's collector (no process/platform collectors: figures of the
    pipeline, not of this Python process)."""
    registry = CollectorRegistry(auto_describe=False)
    collector = PipelineCollector(
        warehouse_url, instance, defs, limits if limits is not None else risk_limits_from_env(),
        **({"now": now} if now else {}),
    )  # fmt: skip
    registry.register(collector)
    return registry


def serve_metrics(port: int = DEFAULT_PORT, host: str = "127.0.0.1") -> None:
    """Serve the metrics of the project's warehouse and Dagster instance on http://host:port/metrics until
    interrupted."""
    from vn_pipeline.instance import dagster_home
    from vn_pipeline.lib.warehouse import database_url, migrate

    dagster_home()
    from vn_pipeline.definitions import defs

    url = database_url()
    migrate(url)  # a fresh home's warehouse has no tables yet: serve its (empty) figures, not errors
    os.environ.setdefault("VN_PIPELINE_DATABASE_URL", url)
    with dg.DagsterInstance.get() as instance:
        server, thread = start_http_server(port, addr=host, registry=build_registry(url, instance, defs))
        LOG.warning("vn_pipeline metrics on http://%s:%d/metrics", host, port)
        try:
            thread.join()
        except KeyboardInterrupt:
            pass
        finally:
            server.shutdown()
