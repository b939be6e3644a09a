"""`vn-pipeline`: run the demo, open the Dagster UI, and find the warehouse."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

from vn_pipeline.demo import ROW_TABLES, say


def demo(args: argparse.Namespace) -> int:
    from vn_pipeline.demo import run_demo

    started = time.perf_counter()
    code, outcomes = run_demo(args)
    if not outcomes:
        return code
    from vn_pipeline.lib.warehouse import connect, database_url, masked
    from vn_pipeline.lib.warehouse.reads import row_counts

    url = database_url()
    with connect(url) as conn:
        counts = row_counts(conn, ROW_TABLES)
    say("rows per table:")
    for table, count in counts.items():
        print(f"    {table:<24} {count:>12,}")
    passed = sum(len(o.checks_passed) for _, o in outcomes)
    errors = [name for _, o in outcomes for name in o.errors]
    warned = [name for _, o in outcomes for name in o.warnings]
    say(f"checks passed: {passed}, failed: {len(errors) + len(warned)} ({len(errors)} errors, {len(warned)} "
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
        say(f"{stage}: run {outcome.run_id} {'succeeded' if outcome.success else 'FAILED'}")
    say(f"done in {time.perf_counter() - started:.1f} s")
    say("open the Dagster UI on this instance with:  .venv/bin/vn-pipeline ui   (then http://127.0.0.1:3000)")
    say(f'query the warehouse with:  psql "$(.venv/bin/vn-pipeline db url)"   ({masked(url)})')
    return code


def _print_evaluation(url: str) -> None:
    from vn_pipeline.lib.ml.registry import evaluation_by_year, evaluation_totals
    from vn_pipeline.lib.warehouse import connect

    with connect(url) as conn:
        days, ic, ic_sd, rank_ic, rank_sd, cover = evaluation_totals(conn)
        years = evaluation_by_year(conn)
    if not days:
        say("evaluation: no out-of-sample day with a realized label yet")
        return
    say(f"out-of-sample evaluation over {days} days (Qlib LightGBM/Alpha158/CSI300 for scale: IC 0.045, "
         "ICIR 0.37, Rank IC 0.047, Rank ICIR 0.39):")  # fmt: skip
    icir = ic / ic_sd if ic_sd else float("nan")
    rank_icir = rank_ic / rank_sd if rank_sd else float("nan")
    print(f"    {'IC':<10} {ic:>8.4f}    {'ICIR':<10} {icir:>8.3f}")
    print(f"    {'Rank IC':<10} {rank_ic:>8.4f}    {'Rank ICIR':<10} {rank_icir:>8.3f}")
    print(f"    {'coverage':<10} {cover:>8.1%}")
    if len(years) > 1:
        print(f"    {'year':<6}{'days':>6}{'IC':>9}{'ICIR':>8}{'Rank IC':>9}{'Rank ICIR':>10}")
        for year, n, y_ic, y_sd, y_rank, y_rank_sd in years:
            icir_y, rank_icir_y = _ratio(y_ic, y_sd), _ratio(y_rank, y_rank_sd)
            print(f"    {year:<6}{n:>6}{y_ic:>9.4f}{icir_y:>8.3f}{y_rank:>9.4f}{rank_icir_y:>10.3f}")


BACKTEST_COLUMNS = {
    "total_return": "return", "annualized_return": "ann.ret", "annualized_volatility": "ann.vol",
    "sharpe": "Sharpe", "sortino": "Sortino", "calmar": "Calmar", "max_drawdown": "max DD", "turnover": "turnover",
    "win_rate": "win", "excess_return": "vs VN30", "information_ratio": "IR",
}  # fmt: skip


def _print_backtests(url: str) -> None:
    from vn_pipeline.lib.backtest import Rules
    from vn_pipeline.lib.backtest.store import load_run, load_runs
    from vn_pipeline.lib.warehouse import connect

    with connect(url) as conn:
        rows = load_runs(conn)
        overlay_run = load_run(conn, "topk_overlay")
    if not rows:
        return
    order = {"topk": 0, "topk_overlay": 1, "vn30": 9}  # the book with and without its risk overlay, side by side
    rows.sort(key=lambda r: (order.get(r[0], 5), r[0]))
    rules = Rules()  # the demo's backtests run on the defaults
    say(
        f"backtests {rows[0][1]} → {rows[0][2]} (fees {rules.buy_fee:.2%}/side + {rules.sale_tax:.1%} sale tax, "
        f"{rules.lot}-share lots, T+{rules.settlement_days}, limit locks; Sharpe 90% bootstrap band):"
    )
    print("    " + f"{'strategy':<13}" + "".join(f"{h:>9}" for h in BACKTEST_COLUMNS.values()) + "   Sharpe band")
    for strategy, _, _, stats in rows:
        cells = "".join(f"{_number(stats.get(k)):>9}" for k in BACKTEST_COLUMNS)
        band = f"[{_number(stats.get('sharpe_p05'))}, {_number(stats.get('sharpe_p95'))}]"
        print(f"    {strategy:<13}{cells}   {band}")
    if overlay_run is not None:
        print(f"    topk_overlay: topk under the risk overlay ({_overlay_summary(overlay_run[2].get('overlay', {}))})")


def _overlay_summary(o: dict) -> str:
    rules = [
        f"volatility target {o['target_vol']:.0%}" if o.get("vol_targeting") else None,
        f"cash below VN30's {o['regime_ma_days']}-day average, back {o['regime_band']:.0%} above it"
        if o.get("regime_filter")
        else None,
        f"drawdown stop {o['drawdown_limit']:.0%}" if o.get("drawdown_stop") else None,
        f"name cap {o['max_name_weight']:.0%}" if o.get("name_cap") else None,
        f"sector cap {o['max_sector_weight']:.0%}" if o.get("sector_cap") else None,
    ]
    return ", ".join(r for r in rules if r) or "every rule off"


def _ratio(mean: float, sd: float | None) -> float:
    return mean / sd if sd else float("nan")


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _print_risk(url: str) -> None:
    from vn_pipeline.lib.risk.store import fullest_foreign_room, latest_summary
    from vn_pipeline.lib.warehouse import connect

    with connect(url) as conn:
        day, strategy, m = latest_summary(conn)
        if day is None:
            return
        fullest = fullest_foreign_room(conn, day, strategy)
    say(f"risk report {day} for {strategy} (one-day VaR/CVaR as % of NAV):")
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
    from vn_pipeline.instance import dagster_home
    from vn_pipeline.lib.warehouse import database_url

    dagster_home()
    import dagster as dg

    from vn_pipeline.defs.automation.run_health import fail_runs_whose_process_died

    with dg.DagsterInstance.get() as instance:
        for run_id in fail_runs_whose_process_died(instance):
            say(f"run {run_id} was left running by a process that is gone: marked failed")
    os.environ.setdefault("VN_PIPELINE_DATABASE_URL", database_url())
    root = Path(__file__).resolve().parents[1]
    webserver = Path(sys.executable).with_name("dagster-webserver")
    command = [str(webserver), "-w", str(root / "workspace.yaml"), "-h", args.host, "-p", str(args.port)]
    say(f"Dagster UI on http://{args.host}:{args.port} (DAGSTER_HOME={os.environ['DAGSTER_HOME']})")
    return subprocess.call(command, cwd=root)


def db_url(args: argparse.Namespace) -> int:
    from vn_pipeline.instance import storage_url
    from vn_pipeline.lib.warehouse import database_url

    print(storage_url() if args.dagster else database_url())
    return 0


def alerts(args: argparse.Namespace) -> int:
    """Recent rows of ops.alerts, newest first: what was told, to which channel, and what a channel refused."""
    from datetime import UTC

    from vn_pipeline.lib.alerts.store import recent
    from vn_pipeline.lib.warehouse import connect, database_url, migrate

    url = database_url()
    migrate(url)  # a fresh home has no ops.alerts yet: an empty list, not an error
    with connect(url) as conn:
        rows = recent(conn, args.limit)
    if not rows:
        say("no alerts yet (the alerts sensor writes them to ops.alerts; see README, Alerts)")
        return 0
    head = ("time (UTC)", "severity", "status", "kind", "check / run", "partition")
    print("  ".join(f"{h:<{w}}" for h, w in zip(head, (19, 8, 8, 11, 48, 22), strict=True)) + "  channel")
    for created, severity, status, kind, subject, partition, channel, attempts, error in rows:
        line = (f"{created.astimezone(UTC):%Y-%m-%d %H:%M:%S}  {severity:<8}  {status:<8}  {kind:<11}  {subject:<48}  "
                f"{partition or '-':<22}  {channel or '(none configured)'}")  # fmt: skip
        print(line)
        if error:
            print(f"{'':<21}error after {attempts} attempt(s): {error}")
    return 0


def metrics(args: argparse.Namespace) -> int:
    """Serve the Prometheus exporter until interrupted (figures are read at each scrape)."""
    from vn_pipeline.metrics_server import serve_metrics

    say(f"Prometheus metrics on http://{args.host}:{args.port}/metrics (Ctrl-C stops)")
    serve_metrics(args.port, args.host)
    return 0


def main(argv: list[str] | None = None) -> int:
    # Dagster flags beta/preview parameters we use on purpose (single-run backfills, partitioned checks).
    warnings.filterwarnings("ignore", message=".*(currently in beta|currently in preview).*")
    args = build_parser().parse_args(argv)
    return args.handler(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vn-pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run_demo = commands.add_parser("demo", help="materialize the whole graph on the simulated market or real files")
    run_demo.add_argument("--source", default="simulator", choices=["simulator", "cafef"])
    run_demo.add_argument("--data-dir", default=None, help="cafef: the folder of <SYMBOL>/PriceHistory.csv exports")
    run_demo.add_argument("--index-dir", default=None, help="cafef: index files (indices_ftu layout) for VN30 & co")
    run_demo.add_argument("--start", default=None, help="cafef: first day (default: the first the files hold)")
    run_demo.add_argument("--universe", default="vn30", choices=["vn30", "full"])
    run_demo.add_argument("--symbols", type=int, default=None, help="cap the universe at N symbols")
    run_demo.add_argument("--history-days", type=int, default=500, help="trading days of daily history")
    run_demo.add_argument("--intraday-days", type=int, default=5, help="last N trading days with full ticks")
    run_demo.add_argument("--end", default=None, help="last trading day (default: the latest one, or the files' last)")
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
    url = database_commands.add_parser("url", help="print the warehouse URL")
    url.add_argument("--dagster", action="store_true", help="the Dagster instance's storage database instead")
    url.set_defaults(handler=db_url)

    recent_alerts = commands.add_parser("alerts", help="list recent alerts from ops.alerts (newest first)")
    recent_alerts.add_argument("--limit", type=int, default=50, help="how many rows (default 50)")
    recent_alerts.set_defaults(handler=alerts)

    serve = commands.add_parser("metrics", help="serve Prometheus metrics (freshness, checks, runs, strategies, risk)")
    serve.add_argument("--host", default="127.0.0.1", help="the address to listen on (127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=9108, help="docker/prometheus.yml scrapes port 9108")
    serve.set_defaults(handler=metrics)

    return parser


if __name__ == "__main__":
    sys.exit(main())
