"""`vn-pipeline`: run the demo, open the Dagster UI, and find the warehouse."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import warnings
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports Dagster lazily, so `--help` and argument errors stay fast
    from vn_pipeline.runner import WindowRun

ROW_TABLES = [
    "market.listings", "market.daily_bars", "market.raw_ticks", "market.ohlcv_1m",
    "market.ohlcv_1d", "market.foreign_flows", "market.untraded", "market.quarantine",
]  # fmt: skip


def _say(message: str) -> None:
    print(f"[vn-pipeline] {message}", flush=True)


def _row_counts(url: str) -> dict[str, int]:
    from psycopg import sql

    from vn_pipeline.lib.warehouse import connect

    counts = {}
    with connect(url) as conn:
        for table in ROW_TABLES:
            schema, name = table.split(".")
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, name))
            counts[table] = conn.execute(query).fetchone()[0]
    return counts


def research_days_needed() -> int:
    """Trading days of history the research loop needs: the features' warm-up, then one full walk-forward split
    under the model's default config (train, purge, valid, embargo, test) and the label span after it, so every
    test day has a realized label to be scored against."""
    from vn_pipeline.defs.ml.assets import ModelConfig
    from vn_pipeline.lib.features import WARMUP_DAYS
    from vn_pipeline.lib.labels import label_span

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


def demo(args: argparse.Namespace) -> int:
    return run_demo(args)[0]


def run_demo(args: argparse.Namespace) -> tuple[int, list[tuple[str, WindowRun]]]:
    """The demo: its exit code and each stage's run (checks passed and failed, with severities)."""
    started = time.perf_counter()
    if args.research and args.history_days < (needed := research_days_needed()):
        # Fail before any work: the model needs the features' warm-up plus one walk-forward split.
        print(f"vn-pipeline demo: --history-days {args.history_days} is too short for the research loop, which "
              f"needs {needed} trading days (the features' 250-day warm-up plus one walk-forward train/valid/test "
              f"split); pass --history-days {needed} or more, or --no-research for the market data only",
              file=sys.stderr)  # fmt: skip
        return 2, []
    from vn_pipeline.runner import dagster_home

    home = dagster_home()
    _say("starting or reusing the embedded warehouse ...")
    from vn_pipeline.lib.warehouse import connect, database_url, migrate

    url = database_url()
    with connect(url) as conn:
        applied = migrate(conn)
    _say(f"warehouse ready at {url} ({len(applied)} migrations applied now)")

    import dagster as dg

    from vn_pipeline.definitions import defs
    from vn_pipeline.defs.features.assets import features_daily
    from vn_pipeline.defs.features.checks import CHECKS as FEATURE_CHECKS
    from vn_pipeline.defs.features.checks import feature_drift_psi
    from vn_pipeline.defs.resources import MarketSourceResource, WarehouseResource
    from vn_pipeline.lib.features import WARMUP_DAYS
    from vn_pipeline.lib.market.calendar import last_trading_day_on_or_before, next_trading_day, previous_trading_day
    from vn_pipeline.runner import run_job, run_window

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
    _say(
        f"materializing market data for {start} → {end} ({args.history_days} trading days, universe "
        f"{args.universe}; intraday ticks from {first_tick_day}) on the Dagster instance in {home} ..."
    )
    instance = dg.DagsterInstance.get()
    # The warehouse the demo reports on, whatever the definitions captured when they were imported.
    resources = {"market_source": source, "warehouse": WarehouseResource(database_url=url)}
    stages = [("market data", lambda: run_window(defs, "market_data", start, end, instance, resources=resources))]
    if args.research:
        model_start = next_trading_day(start, WARMUP_DAYS)  # the first day every feature has its full warm-up
        train_config = {"ops": {"ml__lgbm_model": {"config": {"start": model_start.isoformat()}}}}
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
        _say(f"then features, walk-forward LightGBM from {model_start}, predictions and evaluation "
             f"(planted effects: {args.planted_effects or 'none'})")  # fmt: skip
    outcomes = []
    for stage, run in stages:
        _say(f"{stage} ...")
        outcomes.append((stage, run()))
        if not outcomes[-1][1].success:
            _say(f"{stage} FAILED: later stages skipped (see the run in the UI)")
            break
    counts = _row_counts(url)
    _say("rows per table:")
    for table, count in counts.items():
        print(f"    {table:<24} {count:>12,}")
    passed = sum(len(o.checks_passed) for _, o in outcomes)
    errors = [name for _, o in outcomes for name in o.errors]
    warned = [name for _, o in outcomes for name in o.warnings]
    _say(f"checks passed: {passed}, failed: {len(errors) + len(warned)} ({len(errors)} errors, {len(warned)} "
         "warnings; only errors fail the demo)")  # fmt: skip
    for name in errors:
        print(f"    FAILED (error) {name}")
    for name in warned:
        print(f"    WARNING        {name}   (a WARN check: see its metadata in the UI; not fatal)")
    if args.research:
        _print_evaluation(url)
        _print_backtests(url)
        _print_risk(url)
    for stage, outcome in outcomes:
        _say(f"{stage}: run {outcome.run_id} {'succeeded' if outcome.success else 'FAILED'}")
    _say(f"done in {time.perf_counter() - started:.1f} s")
    _say("open the Dagster UI on this instance with:  .venv/bin/vn-pipeline ui   (then http://127.0.0.1:3000)")
    _say(f'query the warehouse with:  psql "{url}"')
    # Exit code: 1 for a failed run or a failed ERROR-severity check (a blocking data problem); WARN
    # failures are printed above and alerted in the UI, not fatal.
    return (0 if all(o.success for _, o in outcomes) and not errors else 1), outcomes


def _print_evaluation(url: str) -> None:
    from vn_pipeline.lib.warehouse import connect

    with connect(url) as conn:
        row = conn.execute(
            "SELECT count(*), avg(ic), stddev_samp(ic), avg(rank_ic), stddev_samp(rank_ic), avg(coverage)"
            " FROM ml.evaluation_daily"
        ).fetchone()
    days, ic, ic_sd, rank_ic, rank_sd, cover = row
    if not days:
        _say("evaluation: no out-of-sample day with a realized label yet")
        return
    _say(f"out-of-sample evaluation over {days} days (Qlib LightGBM/Alpha158/CSI300 for scale: IC 0.045, "
         "ICIR 0.37, Rank IC 0.047, Rank ICIR 0.39):")  # fmt: skip
    icir = ic / ic_sd if ic_sd else float("nan")
    rank_icir = rank_ic / rank_sd if rank_sd else float("nan")
    print(f"    {'IC':<10} {ic:>8.4f}    {'ICIR':<10} {icir:>8.3f}")
    print(f"    {'Rank IC':<10} {rank_ic:>8.4f}    {'Rank ICIR':<10} {rank_icir:>8.3f}")
    print(f"    {'coverage':<10} {cover:>8.1%}")


BACKTEST_COLUMNS = {
    "total_return": "return", "annualized_return": "ann.ret", "annualized_volatility": "ann.vol",
    "sharpe": "Sharpe", "sortino": "Sortino", "calmar": "Calmar", "max_drawdown": "max DD", "turnover": "turnover",
    "win_rate": "win", "excess_return": "vs VN30", "information_ratio": "IR",
}  # fmt: skip


def _print_backtests(url: str) -> None:
    from vn_pipeline.lib.warehouse import connect

    with connect(url) as conn:
        rows = conn.execute("SELECT strategy, start_date, end_date, stats FROM backtest.runs ORDER BY 1").fetchall()
    if not rows:
        return
    order = {"topk": 0, "vn30": 9}
    rows.sort(key=lambda r: (order.get(r[0], 5), r[0]))
    _say(f"backtests {rows[0][1]} → {rows[0][2]} (fees 0.15%/side + 0.1% sale tax, 100-share lots, T+2, limit locks;"
         " Sharpe 90% bootstrap band):")  # fmt: skip
    print("    " + f"{'strategy':<13}" + "".join(f"{h:>9}" for h in BACKTEST_COLUMNS.values()) + "   Sharpe band")
    for strategy, _, _, stats in rows:
        cells = "".join(f"{_number(stats.get(k)):>9}" for k in BACKTEST_COLUMNS)
        band = f"[{_number(stats.get('sharpe_p05'))}, {_number(stats.get('sharpe_p95'))}]"
        print(f"    {strategy:<13}{cells}   {band}")


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _print_risk(url: str) -> None:
    from vn_pipeline.lib.warehouse import connect

    with connect(url) as conn:
        rows = conn.execute(
            "SELECT trading_date, strategy, metric, value FROM risk.summary"
            " WHERE trading_date = (SELECT max(trading_date) FROM risk.summary) ORDER BY metric"
        ).fetchall()
        if not rows:
            return
        day, strategy = rows[0][0], rows[0][1]
        fullest = conn.execute(
            "SELECT symbol, foreign_room_usage FROM risk.positions WHERE trading_date = %s AND strategy = %s"
            " AND foreign_room_usage IS NOT NULL ORDER BY foreign_room_usage DESC LIMIT 1",
            (day, strategy),
        ).fetchone()
    m = {metric: value for *_, metric, value in rows}
    _say(f"risk report {day} for {strategy} (one-day VaR/CVaR as % of NAV):")
    print(f"    NAV {m['nav']:,.0f} VND, {m['positions']:.0f} positions, cash {m['cash_weight']:.1%}, "
          f"top name {m['top1_weight']:.1%}, HHI {m['hhi']:.3f}")  # fmt: skip
    for kind in ("hist", "param", "mc"):
        print(f"    VaR/CVaR {kind:<5} 95%: {m[f'var_{kind}_95']:.2%} / {m[f'cvar_{kind}_95']:.2%}"
              f"   99%: {m[f'var_{kind}_99']:.2%} / {m[f'cvar_{kind}_99']:.2%}")  # fmt: skip
    print(f"    volatility {m['volatility']:.1%}, beta to VN30 {m['beta']:.2f}, drawdown {m['drawdown']:.1%} "
          f"(max {m['max_drawdown']:.1%}), slowest exit {m['max_days_to_exit']:.2f} days at 20% of ADV20")  # fmt: skip
    print(f"    stress: all names limit-down {m['stress_limit_down_all']:.1%}, worst VN30 drawdown replayed "
          f"{m['stress_worst_vn30_drawdown']:.1%}; half-Kelly {_number(m.get(f'half_kelly_{strategy}'))}")  # fmt: skip
    if fullest:
        print(f"    foreign room: fullest held name {fullest[0]}, {fullest[1]:.1%} of its foreign cap used")


def report(args: argparse.Namespace) -> int:
    """Print (or open) the newest tearsheet of a backtest or a daily risk report."""
    from vn_pipeline.lib.paths import state_dir

    folder = state_dir() / "reports" / ("risk" if args.kind == "risk" else "backtests")
    pattern = f"{args.strategy}*.html" if args.strategy else "*.html"
    found = sorted(folder.glob(pattern), key=lambda p: p.stat().st_mtime)
    if not found:
        print(f"no {args.kind} tearsheet in {folder}: run `vn-pipeline demo` or materialize the assets first",
              file=sys.stderr)  # fmt: skip
        return 1
    latest = found[-1]
    print(latest)
    if args.open:
        import webbrowser

        webbrowser.open(latest.as_uri())
    return 0


def ui(args: argparse.Namespace) -> int:
    from vn_pipeline.lib.warehouse import database_url
    from vn_pipeline.runner import dagster_home

    dagster_home()
    os.environ.setdefault("VN_PIPELINE_DATABASE_URL", database_url())
    root = Path(__file__).resolve().parents[1]
    webserver = Path(sys.executable).with_name("dagster-webserver")
    command = [str(webserver), "-w", str(root / "workspace.yaml"), "-h", args.host, "-p", str(args.port)]
    _say(f"Dagster UI on http://{args.host}:{args.port} (DAGSTER_HOME={os.environ['DAGSTER_HOME']})")
    return subprocess.call(command, cwd=root)


def db_url(args: argparse.Namespace) -> int:
    from vn_pipeline.lib.warehouse import database_url

    print(database_url())
    return 0


def main(argv: list[str] | None = None) -> int:
    # Dagster flags beta/preview parameters we use on purpose (single-run backfills, partitioned checks).
    warnings.filterwarnings("ignore", message=".*(currently in beta|currently in preview).*")
    args = build_parser().parse_args(argv)
    return args.handler(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vn-pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run_demo = commands.add_parser("demo", help="materialize the market data on the simulated market")
    run_demo.add_argument("--universe", default="vn30", choices=["vn30", "full"])
    run_demo.add_argument("--symbols", type=int, default=None, help="cap the universe at N symbols")
    run_demo.add_argument("--history-days", type=int, default=500, help="trading days of daily history")
    run_demo.add_argument("--intraday-days", type=int, default=5, help="last N trading days with full ticks")
    run_demo.add_argument("--end", default=None, help="last trading day (default: the latest one)")
    run_demo.add_argument("--seed", type=int, default=7)
    run_demo.add_argument(
        "--planted-effects",
        default="short_term_reversal=0.2,foreign_flow_momentum=0.1",
        help="documented simulator effects the model should find ('' for none: then it should find nothing)",
    )
    run_demo.add_argument("--no-research", dest="research", action="store_false", help="market data only")
    run_demo.set_defaults(handler=demo)

    run_ui = commands.add_parser("ui", help="start the Dagster UI on the project's instance")
    run_ui.add_argument("--host", default="127.0.0.1")
    run_ui.add_argument("--port", type=int, default=3000)
    run_ui.set_defaults(handler=ui)

    show = commands.add_parser("report", help="print the path of the newest tearsheet (--open to view it)")
    show.add_argument("kind", nargs="?", default="backtest", choices=["backtest", "risk"])
    show.add_argument("--strategy", default=None, help="only this strategy's tearsheets (e.g. topk)")
    show.add_argument("--open", action="store_true", help="open it in the default browser")
    show.set_defaults(handler=report)

    database = commands.add_parser("db", help="warehouse commands")
    database_commands = database.add_subparsers(dest="db_command", required=True)
    database_commands.add_parser("url", help="print the warehouse URL").set_defaults(handler=db_url)

    return parser


if __name__ == "__main__":
    sys.exit(main())
