"""Grafana dashboards as code: builds the provisioned dashboard JSON with grafana-foundation-sdk (a dev dependency).

    .venv/bin/python docker/grafana/build_dashboards.py          # rewrite provisioning/dashboards/*.json
    .venv/bin/python docker/grafana/build_dashboards.py --check  # exit 1 when a committed file is out of date

Panels read two datasources provisioned in provisioning/datasources/datasources.yml by uid: the warehouse (a
PostgreSQL login that is a member of the read-only role ``vn_pipeline_reader``, migration 020) and Prometheus
(scraping ``vn-pipeline metrics``). SQL is used where a figure needs history or joins (P&L by week and month, fills
against the day's VWAP, blocked orders); Prometheus for the latest figures and pipeline health.
vn_pipeline_tests/integration/test_dashboards.py runs every SQL query against a warehouse built by the real jobs, as
the read-only role, and checks every PromQL expression's metric names against the exporter's.

The SDK has no builder for PostgreSQL queries, so ``Sql`` below is one: a Dataquery with Grafana's raw-SQL fields.
SQL uses two Grafana substitutions only: ``$__timeFilter(column)`` (the dashboard's time range) and ``$strategy``
(the dashboard variable); the test substitutes both.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Literal

from grafana_foundation_sdk.builders import bargauge, stat, table, timeseries
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus as prom
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

OUT = Path(__file__).resolve().parent / "provisioning" / "dashboards"

# uids fixed in provisioning/datasources/datasources.yml, so the panels need no lookup by name
WAREHOUSE = model.DataSourceRef(type_val="grafana-postgresql-datasource", uid="vn-warehouse")
PROMETHEUS = model.DataSourceRef(type_val="prometheus", uid="vn-prometheus")

Format = Literal["time_series", "table"]


class SqlQuery(cogvariants.Dataquery):
    """A raw-SQL target of Grafana's PostgreSQL datasource (the fields its query editor saves in code mode)."""

    def __init__(self, ref_id: str, raw_sql: str, fmt: Format) -> None:
        self.ref_id, self.raw_sql, self.fmt = ref_id, raw_sql, fmt

    def to_json(self) -> dict[str, object]:
        return {"refId": self.ref_id, "datasource": WAREHOUSE.to_json(), "editorMode": "code", "rawQuery": True,
                "format": self.fmt, "rawSql": self.raw_sql}  # fmt: skip


class Sql(cogbuilder.Builder[SqlQuery]):
    def __init__(self, raw_sql: str, fmt: Format = "table", ref_id: str = "A") -> None:
        # one line per clause in the editor; strip the indentation of the triple-quoted source
        lines = (line.strip() for line in raw_sql.strip().splitlines())
        self._query = SqlQuery(ref_id, "\n".join(line for line in lines if line), fmt)

    def build(self) -> SqlQuery:
        return self._query


def promql(expr: str, legend: str = "", instant: bool = False, ref_id: str = "A", fmt: Format | None = None
           ) -> prom.Dataquery:  # fmt: skip
    query = prom.Dataquery().expr(expr).ref_id(ref_id).datasource(PROMETHEUS)
    if fmt == "table":  # one row per series, its labels as columns
        query = query.format(PromQueryFormat.TABLE)
    if legend:
        query = query.legend_format(legend)
    return query.instant() if instant else query.range()


def _unit(panel: Any, unit: str | None) -> Any:
    return panel.unit(unit) if unit else panel


def _source(target: cogbuilder.Builder[Any]) -> model.DataSourceRef:
    """The panel's datasource is its target's: Grafana routes a panel's queries by it."""
    return WAREHOUSE if isinstance(target, Sql) else PROMETHEUS


def ts(title: str, target: cogbuilder.Builder[Any], unit: str | None = None, w: int = 12, h: int = 8,
       bars: bool = False, description: str = "") -> timeseries.Panel:  # fmt: skip
    panel = (
        timeseries.Panel()
        .title(title)
        .datasource(_source(target))
        .with_target(target)
        .span(w)
        .height(h)
        .description(description)
    )
    if bars:
        panel = panel.draw_style(common.GraphDrawStyle.BARS).fill_opacity(60)
    return _unit(panel, unit)


def stat_panel(title: str, target: cogbuilder.Builder[Any], unit: str | None = None, w: int = 4,
               description: str = "") -> stat.Panel:  # fmt: skip
    return _unit(
        stat.Panel()
        .title(title)
        .datasource(_source(target))
        .with_target(target)
        .span(w)
        .height(4)
        .description(description),
        unit,
    )


def table_panel(title: str, target: cogbuilder.Builder[Any], units: dict[str, str] | None = None, w: int = 12,
                h: int = 8, description: str = "") -> table.Panel:  # fmt: skip
    """A table; ``units`` per column name (the test asserts each named column is one the query returns)."""
    panel = (
        table.Panel()
        .title(title)
        .datasource(_source(target))
        .with_target(target)
        .span(w)
        .height(h)
        .description(description)
    )
    for column, unit in (units or {}).items():
        panel = panel.override_by_name(column, [model.DynamicConfigValue(id_val="unit", value=unit)])
    return panel


def strategy_variable() -> db.QueryVariable:
    """``$strategy``: any stored backtest, topk (the ML book) by default."""
    return (
        db.QueryVariable("strategy")
        .label("Strategy")
        .datasource(WAREHOUSE)
        .query("SELECT strategy FROM backtest.runs ORDER BY strategy")
        .current(model.VariableOption(selected=True, text="topk", value="topk"))
        .refresh(model.VariableRefresh.ON_DASHBOARD_LOAD)
    )


def _dashboard(uid: str, title: str, description: str, rows: list[tuple[str, list[Any]]],
               with_strategy: bool = False) -> db.Dashboard:  # fmt: skip
    board = (
        db.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["vn_pipeline"])
        .timezone("Asia/Ho_Chi_Minh")
        .time("now-1y", "now")
        .refresh("5m")
        .readonly()
    )
    if with_strategy:
        board = board.with_variable(strategy_variable())
    for row_title, panels in rows:
        board = board.with_row(db.Row(row_title))
        for panel in panels:
            board = board.with_panel(panel)
    return board


STRATEGY = "strategy = '$strategy'"
# Time columns: a trading day is its midnight in Asia/Ho_Chi_Minh (as the exporter gives it), not midnight UTC,
# which the dashboards (in that time zone) would show at 07:00.

# Daily P&L of the selected book from its equity curve: the first day's change is from the initial cash, which is
# not stored, so it is left out (lag is NULL there).
_PNL = f"""
WITH e AS (
  SELECT trading_date, equity - lag(equity) OVER w AS pnl, equity / lag(equity) OVER w - 1 AS ret
  FROM backtest.equity WHERE {STRATEGY}
  WINDOW w AS (ORDER BY trading_date)
)
"""


def _pnl_by(period: Literal["week", "month"]) -> Sql:
    return Sql(f"""
        {_PNL}
        SELECT date_trunc('{period}', trading_date)::date AS {period}, sum(pnl) AS pnl,
        exp(sum(ln(1 + ret))) - 1 AS return, count(*) FILTER (WHERE pnl > 0)::float / count(pnl) AS winning_days
        FROM e WHERE pnl IS NOT NULL
        GROUP BY 1 ORDER BY 1 DESC
    """)


def trading() -> db.Dashboard:
    return _dashboard(
        "vn-trading",
        "vn_pipeline · Trading overview",
        "NAV, P&L by day, week and month, win rate, Sharpe and positions of the backtested books.",
        [
            (
                "Latest (Prometheus)",
                [
                    stat_panel("NAV", promql('vn_pipeline_strategy_nav{strategy="$strategy"}', instant=True), "short"),
                    stat_panel(
                        "Sharpe", promql('vn_pipeline_strategy_sharpe{strategy="$strategy"}', instant=True), "none"
                    ),
                    stat_panel(
                        "Turnover (×/year)",
                        promql('vn_pipeline_strategy_turnover{strategy="$strategy"}', instant=True),
                        "none",
                    ),
                    stat_panel(
                        "Model OOS Rank IC",
                        promql("vn_pipeline_model_oos_rank_ic", instant=True),
                        "none",
                        description="Out-of-sample Rank IC of the approved model.",
                    ),
                    ts(
                        "NAV by strategy (Prometheus)",
                        promql("vn_pipeline_strategy_nav", "{{strategy}}"),
                        "short",
                        w=8,
                        h=4,
                    ),
                ],
            ),
            (
                "Books",
                [
                    ts(
                        "NAV by strategy",
                        Sql(
                            """
                    SELECT trading_date::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' AS time, strategy AS metric,
                    equity AS value
                    FROM backtest.equity WHERE $__timeFilter(trading_date) ORDER BY 1, 2
                """,
                            "time_series",
                        ),
                        "short",
                        w=24,
                        description="End-of-day equity in VND, every stored backtest.",
                    ),
                    ts(
                        "Daily P&L ($strategy)",
                        Sql(
                            f"""
                    {_PNL}
                    SELECT trading_date::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' AS time, pnl FROM e
                    WHERE pnl IS NOT NULL AND $__timeFilter(trading_date) ORDER BY 1
                """,
                            "time_series",
                        ),
                        "short",
                        bars=True,
                    ),
                    table_panel(
                        "Strategies",
                        Sql("""
                    SELECT strategy, start_date, end_date,
                    (stats->>'total_return')::float AS total_return,
                    (stats->>'annualized_return')::float AS annualized_return,
                    (stats->>'sharpe')::float AS sharpe,
                    (stats->>'max_drawdown')::float AS max_drawdown,
                    (stats->>'win_rate')::float AS win_rate,
                    (stats->>'turnover')::float AS turnover,
                    (stats->>'excess_return')::float AS excess_return
                    FROM backtest.runs ORDER BY sharpe DESC NULLS LAST
                """),
                        {
                            "total_return": "percentunit",
                            "annualized_return": "percentunit",
                            "max_drawdown": "percentunit",
                            "win_rate": "percentunit",
                            "excess_return": "percentunit",
                        },
                        description="Win rate over closed round trips; excess return over VN30 on the days it covers.",
                    ),
                    table_panel(
                        "P&L by week ($strategy)",
                        _pnl_by("week"),
                        {"pnl": "short", "return": "percentunit", "winning_days": "percentunit"},
                    ),
                    table_panel(
                        "P&L by month ($strategy)",
                        _pnl_by("month"),
                        {"pnl": "short", "return": "percentunit", "winning_days": "percentunit"},
                    ),
                ],
            ),
            (
                "Positions",
                [
                    table_panel(
                        "Positions at the last close ($strategy)",
                        Sql(f"""
                    SELECT symbol, shares, price, value, weight FROM backtest.positions
                    WHERE {STRATEGY}
                    AND trading_date = (SELECT max(trading_date) FROM backtest.positions WHERE {STRATEGY})
                    ORDER BY weight DESC
                """),
                        {"value": "short", "weight": "percentunit"},
                        w=24,
                    ),
                ],
            ),
        ],
        with_strategy=True,
    )


def _risk_series(metrics: tuple[str, ...]) -> Sql:
    names = ", ".join(f"'{m}'" for m in metrics)
    return Sql(
        f"""
        SELECT trading_date::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' AS time, metric, value FROM risk.summary
        WHERE {STRATEGY} AND metric IN ({names}) AND $__timeFilter(trading_date) ORDER BY 1, 2
    """,
        "time_series",
    )


_LAST_RISK_DAY = f"trading_date = (SELECT max(trading_date) FROM risk.positions WHERE {STRATEGY})"


def risk() -> db.Dashboard:
    return _dashboard(
        "vn-risk",
        "vn_pipeline · Risk",
        "Drawdown, VaR/CVaR, concentration and foreign room of the reported book (risk/report).",
        [
            (
                "Latest (Prometheus)",
                [
                    stat_panel("VaR 95% (1 day)", promql("vn_pipeline_risk_var_95", instant=True), "percentunit"),
                    stat_panel("CVaR 95% (1 day)", promql("vn_pipeline_risk_cvar_95", instant=True), "percentunit"),
                    stat_panel(
                        "Drawdown",
                        promql('vn_pipeline_strategy_drawdown{strategy="$strategy"}', instant=True),
                        "percentunit",
                    ),
                    ts(
                        "Drawdown by strategy (Prometheus)",
                        promql("vn_pipeline_strategy_drawdown", "{{strategy}}"),
                        "percentunit",
                    ),
                ],
            ),
            (
                "History",
                [
                    ts(
                        "Drawdown from peak",
                        Sql(
                            """
                    SELECT trading_date::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' AS time, strategy AS metric,
                    equity / max(equity) OVER (PARTITION BY strategy ORDER BY trading_date) - 1 AS value
                    FROM backtest.equity WHERE $__timeFilter(trading_date) ORDER BY 1, 2
                """,
                            "time_series",
                        ),
                        "percentunit",
                        description="Every stored backtest, from its equity curve.",
                    ),
                    ts(
                        "VaR / CVaR ($strategy)",
                        _risk_series(("var_hist_95", "cvar_hist_95", "var_param_95", "var_mc_99", "cvar_mc_99")),
                        "percentunit",
                        description="One-day losses as fractions of NAV: historical, Gaussian and Monte Carlo.",
                    ),
                    ts(
                        "Concentration ($strategy)",
                        _risk_series(("hhi", "top1_weight", "top5_weight", "cash_weight")),
                        "percentunit",
                        description="Herfindahl index of weights, the largest and five largest weights.",
                    ),
                    table_panel(
                        "Stress losses at the last report ($strategy)",
                        Sql(f"""
                    SELECT scenario, loss, detail FROM risk.stress
                    WHERE {STRATEGY} AND trading_date = (SELECT max(trading_date) FROM risk.stress WHERE {STRATEGY})
                    ORDER BY loss DESC
                """),
                        {"loss": "percentunit"},
                    ),
                ],
            ),
            (
                "Positions and foreign room",
                [
                    table_panel(
                        "Position risk at the last report ($strategy)",
                        Sql(f"""
                    SELECT symbol, weight, value, var_hist_95, beta, days_to_exit, foreign_room,
                    share_of_foreign_room, foreign_room_usage
                    FROM risk.positions WHERE {STRATEGY} AND {_LAST_RISK_DAY}
                    ORDER BY weight DESC
                """),
                        {
                            "weight": "percentunit",
                            "value": "short",
                            "var_hist_95": "percentunit",
                            "share_of_foreign_room": "percentunit",
                            "foreign_room_usage": "percentunit",
                        },
                        w=16,
                        description="Foreign-room usage: 1 − room / (limit × shares outstanding); empty when the "
                        "source has no cap.",
                    ),
                    bargauge.Panel()
                    .title("Foreign-room usage of the book (Prometheus)")
                    .datasource(PROMETHEUS)
                    .with_target(promql("vn_pipeline_foreign_room_usage", "{{symbol}}", instant=True))
                    .unit("percentunit")
                    .min(0)
                    .max(1)
                    .span(8)
                    .height(8),
                ],
            ),
        ],
        with_strategy=True,
    )


# Each decision with a target (NULL = keep) and the session it fills in: the name's next bar after the signal.
_DECISIONS = f"""
WITH o AS (
  SELECT o.signal_date, o.symbol, o.target_weight, r.params->>'fill' AS fill,
  coalesce(p.weight, 0) AS held_weight, nb.trading_date AS fill_date, nb.open, nb.high, nb.low, nb.close,
  l.ceiling_price, l.floor_price
  FROM backtest.orders o
  JOIN backtest.runs r USING (strategy)
  LEFT JOIN backtest.positions p
    ON p.strategy = o.strategy AND p.trading_date = o.signal_date AND p.symbol = o.symbol
  LEFT JOIN LATERAL (
    SELECT b.trading_date, b.open, b.high, b.low, b.close FROM market.ohlcv_1d b
    WHERE b.symbol = o.symbol AND b.trading_date > o.signal_date ORDER BY b.trading_date LIMIT 1
  ) nb ON true
  LEFT JOIN market.listings l ON l.trading_date = nb.trading_date AND l.symbol = o.symbol
  WHERE o.{STRATEGY} AND o.target_weight IS NOT NULL AND $__timeFilter(o.signal_date)
),
d AS (
  SELECT *, target_weight > held_weight AS is_buy,
  CASE fill WHEN 'next_open' THEN open ELSE close END AS fill_price
  FROM o
)
"""


def execution() -> db.Dashboard:
    return _dashboard(
        "vn-execution",
        "vn_pipeline · Execution quality",
        "Backtest fills against the day's VWAP, fill rate of decisions and orders blocked by a locked limit or T+2.",
        [
            (
                "Fills vs VWAP",
                [
                    ts(
                        "Slippage against the day's VWAP, by side ($strategy)",
                        Sql(
                            f"""
                    SELECT t.trading_date::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' AS time, t.side AS metric,
                    avg(CASE t.side WHEN 'buy' THEN 1 ELSE -1 END * (t.price / b.day_vwap - 1)) * 1e4 AS value
                    FROM backtest.trades t
                    JOIN LATERAL (
                      SELECT coalesce(d.vwap, d.value::float / nullif(d.volume, 0)) AS day_vwap FROM market.ohlcv_1d d
                      WHERE d.trading_date = t.trading_date AND d.symbol = t.symbol
                    ) b ON b.day_vwap > 0
                    WHERE t.{STRATEGY} AND $__timeFilter(t.trading_date)
                    GROUP BY 1, 2 ORDER BY 1, 2
                """,
                            "time_series",
                        ),
                        "none",
                        w=24,
                        description="Basis points paid over the day's VWAP (value traded / volume where the bar has no "
                        "tick VWAP): positive is worse — a buy above or a sell below it.",
                    ),
                    table_panel(
                        "Fills furthest from the day's VWAP ($strategy)",
                        Sql(f"""
                    SELECT t.trading_date, t.symbol, t.side, t.shares, t.price, b.day_vwap AS vwap,
                    CASE t.side WHEN 'buy' THEN 1 ELSE -1 END * (t.price / b.day_vwap - 1) * 1e4 AS slippage_bps,
                    t.fees + t.tax AS costs
                    FROM backtest.trades t
                    JOIN LATERAL (
                      SELECT coalesce(d.vwap, d.value::float / nullif(d.volume, 0)) AS day_vwap FROM market.ohlcv_1d d
                      WHERE d.trading_date = t.trading_date AND d.symbol = t.symbol
                    ) b ON b.day_vwap > 0
                    WHERE t.{STRATEGY} AND $__timeFilter(t.trading_date)
                    ORDER BY slippage_bps DESC LIMIT 50
                """),
                        {"vwap": "short", "slippage_bps": "none", "costs": "short"},
                        w=24,
                    ),
                ],
            ),
            (
                "Decisions",
                [
                    ts(
                        "Fill rate of decisions ($strategy)",
                        Sql(
                            f"""
                    {_DECISIONS}
                    SELECT d.signal_date::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' AS time,
                    avg(CASE WHEN EXISTS (SELECT 1 FROM backtest.trades t WHERE t.{STRATEGY}
                      AND t.signal_date = d.signal_date AND t.symbol = d.symbol) THEN 1.0 ELSE 0.0 END) AS fill_rate
                    FROM d GROUP BY 1 ORDER BY 1
                """,
                            "time_series",
                        ),
                        "percentunit",
                        description="Share of the day's decisions (a target weight, not 'keep') that got at least one "
                        "fill; a blocked target stays pending and fills later under the same signal date.",
                    ),
                    ts(
                        "Orders blocked at their first session ($strategy)",
                        Sql(
                            f"""
                    {_DECISIONS}
                    SELECT signal_date::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' AS time,
                    count(*) FILTER (WHERE is_buy AND fill_price >= ceiling_price
                      AND (fill = 'next_open' OR high <= low)) AS blocked_ceiling,
                    count(*) FILTER (WHERE NOT is_buy AND fill_price <= floor_price
                      AND (fill = 'next_open' OR high <= low)) AS blocked_floor,
                    count(*) FILTER (WHERE NOT is_buy AND EXISTS (
                      SELECT 1 FROM backtest.trades t WHERE t.{STRATEGY} AND t.symbol = d.symbol AND t.side = 'buy'
                      AND t.trading_date <= d.fill_date
                      AND (SELECT count(*) FROM backtest.equity e WHERE e.{STRATEGY}
                           AND e.trading_date > t.trading_date AND e.trading_date <= d.fill_date)
                          < CASE d.fill WHEN 'close' THEN 2 ELSE 3 END)) AS blocked_t2
                    FROM d GROUP BY 1 ORDER BY 1
                """,
                            "time_series",
                        ),
                        "none",
                        bars=True,
                        description="A buy whose fill price is the ceiling (a sell: the floor) — at the open auction, "
                        "or all session for close/VWAP fills — and a sell of shares bought too recently to be "
                        "settled (sellable from the afternoon of T+2).",
                    ),
                ],
            ),
        ],
        with_strategy=True,
    )


def pipeline() -> db.Dashboard:
    return _dashboard(
        "vn-pipeline-health",
        "vn_pipeline · Data and pipeline health",
        "Freshness of every asset, asset checks, quarantine by rule, alerts, run outcomes and durations.",
        [
            (
                "Freshness",
                [
                    stat_panel(
                        "Close data age",
                        promql("time() - vn_pipeline_last_close_data_timestamp_seconds", instant=True),
                        "s",
                        description="Since the last trading day's close data landed.",
                    ),
                    table_panel(
                        "Freshness by asset (Prometheus)",
                        promql("vn_pipeline_asset_freshness_trading_days", "{{asset}}", instant=True, fmt="table"),
                        w=10,
                        description="Trading days since the asset's last materialized partition.",
                    ),
                    ts("Rows written by asset", promql("vn_pipeline_asset_rows_written", "{{asset}}"), "short", w=10),
                    table_panel(
                        "Age of the last materialized partition (Prometheus)",
                        promql(
                            "time() - vn_pipeline_asset_last_partition_timestamp_seconds",
                            "{{asset}}",
                            instant=True,
                            fmt="table",
                        ),
                        w=24,
                    ),
                    table_panel(
                        "Last trading day in the warehouse",
                        Sql("""
                    SELECT 'market/ohlcv_1d' AS asset, max(trading_date) AS last_day, count(*) AS rows_total
                    FROM market.ohlcv_1d
                    UNION ALL SELECT 'market/listings', max(trading_date), count(*) FROM market.listings
                    UNION ALL SELECT 'market/foreign_flows', max(trading_date), count(*) FROM market.foreign_flows
                    UNION ALL SELECT 'market/index_levels', max(trading_date), count(*) FROM market.index_levels
                    UNION ALL SELECT 'ml/predictions', max(trading_date), count(*) FROM ml.predictions
                    UNION ALL SELECT 'backtest', max(trading_date), count(*) FROM backtest.equity
                    UNION ALL SELECT 'risk/report', max(trading_date), count(*) FROM risk.summary
                """),
                        {"rows_total": "short"},
                        w=24,
                    ),
                ],
            ),
            (
                "Checks",
                [
                    stat_panel(
                        "Failing checks",
                        promql("count(vn_pipeline_check_status == 0) or vector(0)", instant=True),
                        "none",
                        w=4,
                    ),
                    table_panel(
                        "Failing checks by severity",
                        promql(
                            "vn_pipeline_check_status == 0",
                            "{{asset}} {{check}} ({{severity}})",
                            instant=True,
                            fmt="table",
                        ),
                        w=20,
                    ),
                ],
            ),
            (
                "Quarantine",
                [
                    ts(
                        "Quarantine rate by rule (Prometheus)",
                        promql("vn_pipeline_quarantine_rate", "{{rule}}"),
                        "percentunit",
                    ),
                    ts(
                        "Quarantined rows by rule",
                        Sql(
                            """
                    SELECT trading_date::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' AS time, rule AS metric,
                    count(*) AS value
                    FROM market.quarantine WHERE $__timeFilter(trading_date) GROUP BY 1, 2 ORDER BY 1, 2
                """,
                            "time_series",
                        ),
                        "short",
                        bars=True,
                        description="market.quarantine: rows that broke a market rule, kept with the rule.",
                    ),
                    ts(
                        "Quarantined rows by rule (Prometheus)",
                        promql("vn_pipeline_quarantine_rows", "{{rule}}"),
                        "short",
                    ),
                ],
            ),
            (
                "Alerts",
                [
                    stat_panel(
                        "Alerts not delivered",
                        Sql("""
                            SELECT count(*) AS undelivered FROM ops.alerts WHERE status IN ('pending', 'failed')
                        """),
                        "none",
                        description="Pending or failed on a channel: the sensor retries them on its ticks.",
                    ),
                    table_panel(
                        "Recent alerts",
                        Sql("""
                            SELECT created_at, severity, kind, subject, partition_key, status, channel, attempts,
                            last_error
                            FROM ops.alerts WHERE $__timeFilter(created_at) ORDER BY id DESC LIMIT 100
                        """),
                        {"created_at": "dateTimeAsIso"},
                        w=20,
                        description="ops.alerts: one row per notice and channel (`vn-pipeline alerts` lists them).",
                    ),
                ],
            ),
            (
                "Runs",
                [
                    ts(
                        "Runs by job and outcome (per day)",
                        promql("increase(vn_pipeline_runs_total[1d])", "{{job}} {{status}}"),
                        "short",
                        bars=True,
                    ),
                    ts("Run duration by job", promql("vn_pipeline_run_duration_seconds", "{{job}}"), "s"),
                ],
            ),
        ],
    )


BUILDERS = {"trading.json": trading, "risk.json": risk, "execution.json": execution, "pipeline.json": pipeline}


def dashboards() -> dict[str, dict[str, Any]]:
    """File name → dashboard JSON (plain dicts, as provisioning reads them)."""
    return {name: json.loads(render(build())) for name, build in BUILDERS.items()}


def render(board: db.Dashboard) -> str:
    data = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    # The SDK leaves every panel id 0 and unset options null: Grafana links, edits and repeats panels by id.
    for number, panel in enumerate(data["panels"], start=1):
        panel["id"] = number
        if panel.get("options") is None:
            panel["options"] = {}
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a committed dashboard differs")
    args = parser.parse_args(argv)
    stale = []
    for name, build in BUILDERS.items():
        path, text = OUT / name, render(build())
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(path)
    if stale:
        print(f"out of date: {', '.join(stale)} (run {Path(__file__).name})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
