"""The demo's stages: the market data on the simulated market, then the research loop, each a real run on the
project's Dagster instance and warehouse. ``cli.py`` parses its options and prints what it returns."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Dagster is imported lazily, so `--help` and argument errors stay fast
    from vn_pipeline.runs import WindowRun


def say(message: str) -> None:
    print(f"[vn-pipeline] {message}", flush=True)


ROW_TABLES = [
    "market.listings", "market.daily_bars", "market.raw_ticks", "market.ohlcv_1m", "market.ohlcv_1d",
    "market.foreign_flows", "market.proprietary_flows", "market.corporate_actions", "market.index_levels",
    "market.untraded", "market.quarantine",
]  # fmt: skip
# Real history: the model's walk-forward retrains once a year on everything before it (a 40-day test step over
# 25 years would train ~150 models), and starts once the market has a cross-section worth ranking.
HISTORY_MODEL = {"train_days": 500, "valid_days": 120, "test_days": 250}
MIN_CROSS_SECTION = 30


def research_days_needed(model: dict[str, int] | None = None) -> int:
    """Trading days of history the research loop needs: the features' warm-up, then one full walk-forward split
    under the model's config (the default, or ``model``'s overrides: train, purge, valid, embargo, test) and the
    label span after it, so every test day has a realized label to be scored against."""
    from vn_pipeline.defs.ml.assets import ModelConfig
    from vn_pipeline.lib.features import WARMUP_DAYS
    from vn_pipeline.lib.ml.labels import label_span

    c = ModelConfig(**(model or {}))
    return (
        WARMUP_DAYS
        + c.train_days
        + c.purge_days
        + c.valid_days
        + c.embargo_days
        + c.test_days
        + label_span(c.horizon_days)
    )


def run_demo(args: argparse.Namespace) -> tuple[int, list[tuple[str, WindowRun]]]:
    """The demo: its exit code and each stage's run (checks passed and failed, with severities)."""
    if args.source == "cafef" and not args.data_dir:
        print("vn-pipeline demo: --source cafef reads a folder of CafeF exports: pass --data-dir (e.g. "
              "../shared/data/vn_real/cafef)", file=sys.stderr)  # fmt: skip
        return 2, []
    if args.source == "simulator" and args.research and args.history_days < (needed := research_days_needed()):
        # Fail before any work: the model needs the features' warm-up plus one walk-forward split.
        print(f"vn-pipeline demo: --history-days {args.history_days} is too short for the research loop, which "
              f"needs {needed} trading days (the features' 250-day warm-up plus one walk-forward train/valid/test "
              f"split); pass --history-days {needed} or more, or --no-research for the market data only",
              file=sys.stderr)  # fmt: skip
        return 2, []
    if args.source == "cafef":
        start, end = _history_window(args)
        if args.research and (problem := _too_short_for_research(start, end)):
            print(f"vn-pipeline demo: {problem}", file=sys.stderr)
            return 2, []
    from vn_pipeline.instance import dagster_home

    home = dagster_home()
    say("starting or reusing the embedded warehouse ...")
    from vn_pipeline.lib.warehouse import connect, database_url, masked, migrate

    url = database_url()
    with connect(url) as conn:
        applied = migrate(conn)
    say(f"warehouse ready at {masked(url)} ({len(applied)} migrations applied now)")

    import dagster as dg

    from vn_pipeline.definitions import defs
    from vn_pipeline.defs.automation.run_health import fail_runs_whose_process_died
    from vn_pipeline.defs.features.assets import features_daily, features_universe
    from vn_pipeline.defs.features.checks import CHECKS as FEATURE_CHECKS
    from vn_pipeline.defs.features.checks import feature_drift_psi
    from vn_pipeline.defs.resources import MarketSourceResource, WarehouseResource
    from vn_pipeline.lib.features import WARMUP_DAYS
    from vn_pipeline.lib.market.calendar import last_trading_day_on_or_before, next_trading_day, previous_trading_day
    from vn_pipeline.lib.sources.vendors.cafef_source import close_cafef
    from vn_pipeline.runs import run_job, run_window

    if args.source == "cafef":
        source = MarketSourceResource(kind="cafef", data_dir=args.data_dir, index_dir=args.index_dir or "")
        say(f"materializing market data for {start} → {end} from the CafeF exports in {args.data_dir} (index files: "
            f"{args.index_dir or 'none'}) on the Dagster instance in {home} ...")  # fmt: skip
    else:
        end = date.fromisoformat(args.end) if args.end else last_trading_day_on_or_before(date.today())
        start = previous_trading_day(end, args.history_days - 1)
        first_tick_day = previous_trading_day(end, args.intraday_days - 1) if args.intraday_days > 1 else end
        source = MarketSourceResource(
            universe=args.universe,
            seed=args.seed,
            n_symbols=args.symbols,
            intraday_since=first_tick_day.isoformat(),
            planted_effects=args.planted_effects,
        )
        say(
            f"materializing market data for {start} → {end} ({args.history_days} trading days, universe "
            f"{args.universe}; intraday ticks from {first_tick_day}) on the Dagster instance in {home} ..."
        )
    instance = dg.DagsterInstance.get()
    for run_id in fail_runs_whose_process_died(instance):
        say(f"run {run_id} was left running by a process that is gone: marked failed")
    # The warehouse the demo reports on, whatever the definitions captured when they were imported.
    resources = {"market_source": source, "warehouse": WarehouseResource(database_url=url)}
    outcomes = []

    def stage(name: str, run: Callable[[], WindowRun]) -> bool:
        say(f"{name} ...")
        outcomes.append((name, run()))
        if not outcomes[-1][1].success:
            say(f"{name} FAILED: later stages skipped (see the run in the UI)")
        return outcomes[-1][1].success

    # Vendor history a year per run: a run's planned check evaluations grow with the square of its days (each
    # stores the run's whole partition subset), so 25 years in one run spends minutes before its first step;
    # the source parses its folder once per process, so the yearly runs share it. Progress shows per year.
    windows = yearly_windows if args.source == "cafef" else lambda a, b: [(a, b)]

    def named(name: str, a: date, b: date, count: int) -> str:
        return f"{name} {a} → {b}" if count > 1 else name

    market = windows(start, end)
    ok = all(
        stage(named("market data", a, b, len(market)),
              lambda a=a, b=b: run_window(defs, "market_data", a, b, instance, resources=resources))
        for a, b in market
    )  # fmt: skip
    if ok:
        # The dbt marts (analytics.*) over the market tables just written: the same job the close's sensor starts.
        from vn_pipeline.defs.resources import dbt_resource

        marts = {**resources, "dbt": dbt_resource(url)}
        ok = stage("dbt marts", lambda: run_job(defs, "dbt_marts", instance, resources=marts))
    if args.source == "cafef":
        close_cafef()  # the research stages read the warehouse: free the parsed folder before they start
    if ok and args.research:
        if args.source == "cafef":
            model_start = next_trading_day(_first_cross_section(url, start, end), WARMUP_DAYS)
            model = {"start": model_start.isoformat(), **HISTORY_MODEL}
        else:
            model_start = next_trading_day(start, WARMUP_DAYS)  # the first day every feature has its full warm-up
            model = {"start": model_start.isoformat()}
        train_config = {"ops": {"ml__models": {"config": model}}}
        # The drift check compares with the model trained before its window: run it once a model exists, so a
        # first and a second demo on the same state compare the same things (not "no model yet", then a model).
        drift = {key for check in [feature_drift_psi] for key in check.check_keys}
        other_checks = {key for check in FEATURE_CHECKS for key in check.check_keys} - drift
        effects = args.planted_effects if args.source == "simulator" else "none, real data"
        say(f"then features, walk-forward LightGBM from {model_start}, predictions and evaluation "
            f"(planted effects: {effects or 'none'})")  # fmt: skip
        # Features a year per run on long history: memory stays that of one year's rows.
        years, predicted = windows(start, end), windows(model_start, end)
        research = [
            (named("features", a, b, len(years)),
             lambda a=a, b=b: run_window(defs, "features", a, b, instance, resources=resources,
                                         assets={features_daily.key, features_universe.key}, checks=other_checks))
            for a, b in years
        ] + [
            ("model", lambda: run_job(defs, "train", instance, train_config, resources)),
            ("feature drift", lambda: run_window(defs, "features", end, end, instance, resources=resources,
                                                 assets=set(), checks=drift)),
        ] + [
            (named("predictions", a, b, len(predicted)),
             lambda a=a, b=b: run_window(defs, "predict", a, b, instance, resources=resources))
            for a, b in predicted
        ] + [
            ("evaluation", lambda: run_job(defs, "evaluate", instance, resources=resources)),
            ("backtests", lambda: run_job(defs, "backtest", instance, resources=resources)),
            ("risk report", lambda: run_window(defs, "risk", end, end, instance, resources=resources)),
        ]  # fmt: skip
        for name, run in research:
            if not stage(name, run):
                break
    # No daemon runs the sensors here: the demo's own checks and runs become alerts (ops.alerts and the channels of
    # VN_PIPELINE_ALERT_URLS) by the alerts sensor's ticks, run once now.
    from vn_pipeline.defs.automation.alerts import catch_up

    ticks = catch_up(instance, resources["warehouse"])
    with connect(url) as conn:
        counts = conn.execute("SELECT status, count(*) FROM ops.alerts GROUP BY 1 ORDER BY 1").fetchall()
    held = ", ".join(f"{n} {status}" for status, n in counts) or "none"
    say(f"alerts in ops.alerts: {held} after {len(ticks)} tick(s) of the alerts sensor (vn-pipeline alerts lists them)")
    # Exit code: 1 for a failed run or a failed ERROR-severity check (a blocking data problem); WARN
    # failures are printed and alerted in the UI, not fatal.
    failed = any(not o.success or o.errors for _, o in outcomes)
    return (1 if failed else 0), outcomes


def yearly_windows(start: date, end: date) -> list[tuple[date, date]]:
    """[start, end] cut at each new year: one run per calendar year of history."""
    from vn_pipeline.lib.market.calendar import last_trading_day_on_or_before, next_trading_day

    windows, first = [], start
    while first <= end:
        last = min(end, last_trading_day_on_or_before(date(first.year, 12, 31)))
        windows.append((first, last))
        first = next_trading_day(last)
    return windows


def _history_window(args: argparse.Namespace) -> tuple[date, date]:
    """The demo's window on vendor history: what the files cover, unless --start/--end narrow it."""
    from vn_pipeline.lib.market.calendar import (
        CALENDAR_START,
        is_trading_day,
        last_trading_day_on_or_before,
        next_trading_day,
    )
    from vn_pipeline.lib.sources.vendors.cafef_source import covered_days

    first, last = covered_days(Path(args.data_dir))
    start = max(date.fromisoformat(args.start) if args.start else first, CALENDAR_START)
    end = date.fromisoformat(args.end) if args.end else last
    return (start if is_trading_day(start) else next_trading_day(start)), last_trading_day_on_or_before(end)


def _too_short_for_research(start: date, end: date) -> str | None:
    """Why [start, end] cannot hold the research loop on vendor history, before any work is done."""
    from vn_pipeline.lib.market.calendar import trading_days

    days, needed = len(trading_days(start, end)), research_days_needed(HISTORY_MODEL)
    if days >= needed:
        return None
    return (
        f"{start} → {end} holds {days} trading days; the research loop on vendor history needs at least {needed} "
        f"(the features' warm-up plus one yearly walk-forward split: train {HISTORY_MODEL['train_days']}, valid "
        f"{HISTORY_MODEL['valid_days']}, test {HISTORY_MODEL['test_days']}); widen --start/--end, or pass "
        "--no-research"
    )


def _first_cross_section(url: str, start: date, end: date) -> date:
    """The first day of the window with bars for at least MIN_CROSS_SECTION symbols: a Rank IC over fewer names
    (HOSE had 5 in 2000) measures nothing."""
    from vn_pipeline.lib.warehouse import connect

    with connect(url) as conn:
        row = conn.execute(
            "SELECT trading_date FROM market.ohlcv_1d WHERE trading_date BETWEEN %s AND %s"
            " GROUP BY 1 HAVING count(*) >= %s ORDER BY 1 LIMIT 1",
            (start, end, MIN_CROSS_SECTION),
        ).fetchone()
    if row is None:
        raise ValueError(f"no day in {start} → {end} has bars for {MIN_CROSS_SECTION} symbols: nothing to rank")
    return row[0]
