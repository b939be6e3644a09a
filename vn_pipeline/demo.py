"""The demo's stages: the market data on the simulated market, then the research loop, each a real run on the
project's Dagster instance and warehouse. ``cli.py`` parses its options and prints what it returns."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Dagster is imported lazily, so `--help` and argument errors stay fast
    from vn_pipeline.runs import WindowRun


def say(message: str) -> None:
    print(f"[vn-pipeline] {message}", flush=True)


ROW_TABLES = [
    "market.listings", "market.daily_bars", "market.raw_ticks", "market.ohlcv_1m",
    "market.ohlcv_1d", "market.foreign_flows", "market.untraded", "market.quarantine",
]  # fmt: skip


def research_days_needed() -> int:
    """Trading days of history the research loop needs: the features' warm-up, then one full walk-forward split
    under the model's default config (train, purge, valid, embargo, test) and the label span after it, so every
    test day has a realized label to be scored against."""
    from vn_pipeline.defs.ml.assets import ModelConfig
    from vn_pipeline.lib.features import WARMUP_DAYS
    from vn_pipeline.lib.ml.labels import label_span

    c = ModelConfig()
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
    if args.research and args.history_days < (needed := research_days_needed()):
        # Fail before any work: the model needs the features' warm-up plus one walk-forward split.
        print(f"vn-pipeline demo: --history-days {args.history_days} is too short for the research loop, which "
              f"needs {needed} trading days (the features' 250-day warm-up plus one walk-forward train/valid/test "
              f"split); pass --history-days {needed} or more, or --no-research for the market data only",
              file=sys.stderr)  # fmt: skip
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
    from vn_pipeline.defs.features.assets import features_daily
    from vn_pipeline.defs.features.checks import CHECKS as FEATURE_CHECKS
    from vn_pipeline.defs.features.checks import feature_drift_psi
    from vn_pipeline.defs.resources import MarketSourceResource, WarehouseResource
    from vn_pipeline.lib.features import WARMUP_DAYS
    from vn_pipeline.lib.market.calendar import last_trading_day_on_or_before, next_trading_day, previous_trading_day
    from vn_pipeline.runs import run_job, run_window

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
    stages = [("market data", lambda: run_window(defs, "market_data", start, end, instance, resources=resources))]
    if args.research:
        model_start = next_trading_day(start, WARMUP_DAYS)  # the first day every feature has its full warm-up
        train_config = {"ops": {"ml__models": {"config": {"start": model_start.isoformat()}}}}
        # The drift check compares with the model trained before its window: run it once a model exists, so a
        # first and a second demo on the same state compare the same things (not "no model yet", then a model).
        drift = {key for check in [feature_drift_psi] for key in check.check_keys}
        other_checks = {key for check in FEATURE_CHECKS for key in check.check_keys} - drift
        stages += [
            ("features", lambda: run_window(defs, "features", start, end, instance, resources=resources,
                                            assets={features_daily.key}, checks=other_checks)),
            ("model", lambda: run_job(defs, "train", instance, train_config, resources)),
            ("feature drift", lambda: run_window(defs, "features", end, end, instance, resources=resources,
                                                 assets=set(), checks=drift)),
            ("predictions", lambda: run_window(defs, "predict", model_start, end, instance, resources=resources)),
            ("evaluation", lambda: run_job(defs, "evaluate", instance, resources=resources)),
            ("backtests", lambda: run_job(defs, "backtest", instance, resources=resources)),
            ("risk report", lambda: run_window(defs, "risk", end, end, instance, resources=resources)),
        ]  # fmt: skip
        say(f"then features, walk-forward LightGBM from {model_start}, predictions and evaluation "
            f"(planted effects: {args.planted_effects or 'none'})")  # fmt: skip
    outcomes = []
    for stage, run in stages:
        say(f"{stage} ...")
        outcomes.append((stage, run()))
        if not outcomes[-1][1].success:
            say(f"{stage} FAILED: later stages skipped (see the run in the UI)")
            break
    # Exit code: 1 for a failed run or a failed ERROR-severity check (a blocking data problem); WARN
    # failures are printed and alerted in the UI, not fatal.
    failed = any(not o.success or o.errors for _, o in outcomes)
    return (1 if failed else 0), outcomes
