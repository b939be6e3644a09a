"""features → walk-forward model → predictions → evaluation on a real Dagster instance and the embedded server."""

import math
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from vn_pipeline.definitions import defs
from vn_pipeline.defs.features.checks import DRIFT_DAYS, feature_drift_psi
from vn_pipeline.defs.resources import MarketSourceResource, RiskLimitsResource, WarehouseResource
from vn_pipeline.lib.features import WARMUP_DAYS
from vn_pipeline.lib.market.calendar import next_trading_day, previous_trading_day
from vn_pipeline.lib.ml.registry import load_models
from vn_pipeline.lib.risk.inputs import read_risk_inputs
from vn_pipeline.lib.risk.report import StressWindow, build_report
from vn_pipeline.runs import run_job, run_window
from vn_pipeline_tests.instances import postgres_instance

END = date(2023, 12, 29)  # a window no other test in the session writes
MODEL_DAYS = 100
START = previous_trading_day(END, WARMUP_DAYS + MODEL_DAYS)
MODEL_START = next_trading_day(START, WARMUP_DAYS)
RISK_START = previous_trading_day(END, 2)
STRATEGIES = {"topk", "topk_overlay", "ma_momentum", "bollinger", "equal_weight", "vn30"}
PNG = b"\x89PNG\r\n\x1a\n"
MODEL_CONFIG = {"train_days": 40, "valid_days": 15, "test_days": 15, "num_boost_round": 40, "min_data_in_leaf": 20,
                "label_normalization": "zscore"}  # fmt: skip


@pytest.fixture(scope="module")
def research(warehouse_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    resources = {
        "warehouse": WarehouseResource(database_url=warehouse_url),
        "market_source": MarketSourceResource(n_symbols=12, intraday_since=END.isoformat()),
    }
    with postgres_instance(warehouse_url, str(tmp_path_factory.mktemp("dagster_research"))) as instance:
        runs = {"market": run_window(defs, "market_data", START, END, instance, resources=resources)}
        runs["features"] = run_window(defs, "features", START, END, instance, resources=resources)
        config = {"ops": {"ml__models": {"config": {"start": MODEL_START.isoformat(), **MODEL_CONFIG,
                                                        "min_oos_rank_ic": -1.0}}}}  # fmt: skip
        runs["train"] = run_job(defs, "train", instance, config, resources)
        # The drift check once a model exists, as the demo runs it; then a second training on the same data and
        # the check again: what a second demo on the same state does.
        drift = {"assets": set(), "checks": set(feature_drift_psi.check_keys)}
        checked = [run_window(defs, "features", END, END, instance, resources=resources, **drift)]
        retrained = run_job(defs, "train", instance, config, resources)
        checked.append(run_window(defs, "features", END, END, instance, resources=resources, **drift))
        runs["predict"] = run_window(defs, "predict", MODEL_START, END, instance, resources=resources)
        runs["evaluate"] = run_job(defs, "evaluate", instance, resources=resources)
        # A narrower band than the default 2σ, so the short window has mean-reversion trades to check.
        bands = {"ops": {"backtest__bollinger": {"config": {"n_std": 1.0, "window": 10}}}}
        runs["backtest"] = run_job(defs, "backtest", instance, bands, resources)
        # A single-name limit the equal-weight top-10 book must break: the WARN check fires, the run still succeeds.
        strict = {**resources, "risk_limits": RiskLimitsResource(max_single_name_weight=0.05)}
        runs["risk"] = run_window(defs, "risk", RISK_START, END, instance, resources=strict)
        yield {"runs": runs, "url": warehouse_url, "instance": instance, "drift": checked, "retrained": retrained}


def _rows(url: str, query: str, *params: object) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def test_every_stage_succeeds_and_its_checks_pass(research):
    for name, outcome in research["runs"].items():
        assert outcome.success, name
        if name != "risk":  # its limits are set to be broken (see the fixture)
            assert not outcome.checks_failed, (name, outcome.checks_failed)
    assert "ml/models:oos_rank_ic_above_minimum" in research["runs"]["train"].checks_passed


def test_drift_compares_a_month_with_the_training_window_of_a_model_that_never_saw_it(research):
    name = "features/daily:feature_drift_psi"
    before_training = research["runs"]["features"].metadata[name]
    assert before_training["note"].startswith("no approved model trained before")
    first, second = research["drift"]
    assert first.success and first.severity[name] == "WARN"
    meta = first.metadata[name]
    window_start = previous_trading_day(END, DRIFT_DAYS - 1)
    assert meta["window"] == f"{window_start} → {END} ({DRIFT_DAYS} trading days)"
    with psycopg.connect(research["url"]) as conn:
        (model,) = load_models(conn, [meta["reference_model"]])
        approved = load_models(conn, approved_only=True)
    assert model.data_end < window_start  # it saw nothing of the checked window, label windows included
    assert meta["reference_window"] == f"{model.train_start} → {model.train_end}"
    with psycopg.connect(research["url"]) as conn:  # the model's population: universe rows, not the whole market
        members = "SELECT count(*) FROM features.universe WHERE trading_date BETWEEN %s AND %s"
        assert meta["reference_rows"] == conn.execute(members, (model.train_start, model.train_end)).fetchone()[0]
        assert meta["rows"] == conn.execute(members, (window_start, END)).fetchone()[0]
    newer = [m for m in approved if m.valid_end > model.valid_end]
    assert all(m.data_end >= window_start for m in newer)  # the newest one that qualifies
    # A second training on the same data and the check again (a second demo): the same comparison, same result.
    assert research["retrained"].success
    assert second.metadata == first.metadata and second.checks_failed == first.checks_failed


def test_predictions_come_only_from_models_trained_before_the_day(research):
    url = research["url"]
    with psycopg.connect(url) as conn:
        models = {m.model_id: m for m in load_models(conn)}
    predictions = _rows(url, "SELECT trading_date, model_id, count(*) FROM ml.predictions GROUP BY 1, 2")
    assert predictions, "no predictions were published"
    for day, model_id, _ in predictions:
        model = models[model_id]
        assert model.data_end < day and model.valid_end < day  # out of sample, label windows included
    # every member of a scored day's universe got a score; with 12 names (< 100) every symbol with features is one
    scored = dict(_rows(url, "SELECT trading_date, count(*) FROM ml.predictions GROUP BY 1"))
    featured = dict(_rows(url, "SELECT trading_date, count(*) FROM features.daily WHERE trading_date = ANY(%s)"
                          " GROUP BY 1", list(scored)))  # fmt: skip
    members = dict(_rows(url, "SELECT trading_date, count(*) FROM features.universe WHERE trading_date = ANY(%s)"
                         " GROUP BY 1", list(scored)))  # fmt: skip
    assert scored == members == featured


def test_a_stored_model_reloads_and_rescores_its_published_predictions(research):
    url = research["url"]
    day, model_id = _rows(url, "SELECT trading_date, model_id FROM ml.predictions ORDER BY 1 DESC LIMIT 1")[0]
    with psycopg.connect(url) as conn:
        (model,) = load_models(conn, [model_id])
    features = WarehouseResource(database_url=url).read_partition("features.daily", day, day).sort_values("symbol")
    stored = dict(_rows(url, "SELECT symbol, score FROM ml.predictions WHERE trading_date = %s", day))
    rescored = dict(zip(features["symbol"], model.predict(features), strict=True))
    assert rescored == pytest.approx(stored, rel=0, abs=0)


def test_evaluation_is_written_and_shown(research):
    rows = _rows(research["url"], "SELECT count(*), count(rank_ic) FROM ml.evaluation_daily")
    assert rows[0][0] > 0 and rows[0][1] > 0
    event = research["instance"].get_latest_materialization_event(dg.AssetKey(["ml", "evaluation"]))
    metadata = event.asset_materialization.metadata
    assert Path(metadata["ic_plot"].value).read_bytes().startswith(PNG)  # a file the event log links to
    assert "rank_ic_mean" in metadata
    summary = metadata["summary"]
    assert [c.name for c in summary.schema.columns][:1] == ["n_days"] and len(summary.records) == 1


def test_the_topk_backtest_trades_the_scores_under_the_rules(research):
    url = research["url"]
    assert "backtest/topk:cash_never_negative" in research["runs"]["backtest"].checks_passed
    fills = _rows(url, "SELECT trading_date, symbol, side, shares FROM backtest.trades WHERE strategy = 'topk'")
    # Buys are whole lots; a sale may also carry the odd lot a stock dividend left (the audit checks which).
    assert fills and all(shares % 100 == 0 for _, _, side, shares in fills if side == "buy")
    first_signal = _rows(url, "SELECT min(trading_date) FROM ml.predictions")[0][0]
    assert min(day for day, *_ in fills) > first_signal  # a signal at D's close fills on D+1 at the earliest
    (equity,) = _rows(url, "SELECT count(*) FROM backtest.equity WHERE strategy = 'topk'")[0]
    assert equity > 0


def test_every_backtest_passes_the_blocking_rule_checks_and_is_stored(research):
    url, passed = research["url"], research["runs"]["backtest"].checks_passed
    traded = STRATEGIES - {"vn30"}
    for strategy in traded:
        assert f"backtest/{strategy}:cash_never_negative" in passed
        assert f"backtest/{strategy}:fills_follow_exchange_rules" in passed
    runs = {row[0]: row[1] for row in _rows(url, "SELECT strategy, stats FROM backtest.runs")}
    assert set(runs) == STRATEGIES
    for strategy in traded:
        stats = runs[strategy]
        assert stats["sharpe_p05"] <= stats["sharpe"] <= stats["sharpe_p95"], strategy
        assert stats["information_ratio"] is not None and stats["benchmark_total_return"] is not None
        assert stats["turnover"] > 0, strategy
    # VN30 held as a strategy returns exactly the index's move over the window.
    (first, last) = _rows(
        url, "SELECT min(trading_date), max(trading_date) FROM backtest.equity WHERE strategy = 'vn30'"
    )[0]
    levels = dict(_rows(url, "SELECT trading_date, close FROM market.index_levels WHERE trading_date IN (%s, %s)",
                        first, last))  # fmt: skip
    assert runs["vn30"]["total_return"] == pytest.approx(levels[last] / levels[first] - 1)
    assert runs["topk"]["benchmark_total_return"] == pytest.approx(runs["vn30"]["total_return"])


def _replayed_holdings(url: str, strategy: str) -> tuple[dict[str, int], dict[str, int], int]:
    """(stored positions on the last day, the fills replayed with floor(shares × (1 + ratio)) at each ex-date,
    how many ex-dates credited a held name)."""
    (first, last) = _rows(url, "SELECT min(trading_date), max(trading_date) FROM backtest.equity"
                          " WHERE strategy = %s", strategy)[0]  # fmt: skip
    fills = _rows(url, "SELECT trading_date, symbol, CASE WHEN side = 'buy' THEN shares ELSE -shares END"
                  " FROM backtest.trades WHERE strategy = %s", strategy)  # fmt: skip
    actions = _rows(url, "SELECT trading_date, symbol, ratio FROM market.corporate_actions WHERE kind ="
                    " 'stock_dividend' AND trading_date BETWEEN %s AND %s", first, last)  # fmt: skip
    # Ex-dates first on their day: the bonus is credited at the open, before that day's fills.
    events = sorted([(d, 0, s, r) for d, s, r in actions] + [(d, 1, s, q) for d, s, q in fills])
    expected: dict[str, int] = {}
    credited = 0
    for _, is_fill, symbol, x in events:
        held = expected.get(symbol, 0)
        if is_fill:
            expected[symbol] = held + x
        elif held:
            expected[symbol] = math.floor(held * (1 + x) + 1e-6)
            credited += 1
    held = dict(_rows(url, "SELECT symbol, shares FROM backtest.positions WHERE strategy = %s"
                      " AND trading_date = %s", strategy, last))  # fmt: skip
    return held, {s: q for s, q in expected.items() if q}, credited


def test_positions_orders_and_fills_agree(research):
    url = research["url"]
    # Positions are the running sum of fills, plus the bonus shares of names held through an ex-date.
    held, replayed, _ = _replayed_holdings(url, "topk")
    assert held == replayed
    over = _rows(url, "SELECT trading_date, sum(weight) FROM backtest.positions GROUP BY strategy, trading_date"
                 " HAVING sum(weight) > 1.0 + 1e-9")  # fmt: skip
    assert over == []  # long-only, no margin
    orphans = _rows(url, "SELECT count(*) FROM backtest.trades t WHERE NOT EXISTS (SELECT 1 FROM backtest.orders o"
                    " WHERE o.strategy = t.strategy AND o.signal_date = t.signal_date)")  # fmt: skip
    assert orphans == [(0,)]  # every fill executes a stored decision
    # TopkDropout keeps the names that stay in the book (NULL target): no fill pursues such a decision for them.
    kept = _rows(url, "SELECT count(*) FROM backtest.orders WHERE strategy = 'topk' AND target_weight IS NULL")
    assert kept[0][0] > 0
    traded_kept = _rows(url, "SELECT count(*) FROM backtest.trades t JOIN backtest.orders o USING (strategy, symbol,"
                        " signal_date) WHERE t.strategy = 'topk' AND o.target_weight IS NULL")  # fmt: skip
    assert traded_kept == [(0,)]


def test_held_names_receive_their_bonus_shares(research):
    """Equal weight holds every name: positions are its fills plus floor(shares × (1 + ratio)) at each ex-date."""
    held, replayed, credited = _replayed_holdings(research["url"], "equal_weight")
    assert credited > 0  # the simulated window has stock dividends on held names
    assert held == replayed


def test_backtests_show_charts_and_write_a_tearsheet(research):
    event = research["instance"].get_latest_materialization_event(dg.AssetKey(["backtest", "topk"]))
    metadata = event.asset_materialization.metadata
    charts = [key for key in metadata if key.endswith("_chart")]
    assert len(charts) == 4 and len({metadata[key].value for key in charts}) == 4
    assert all(Path(metadata[key].value).read_bytes().startswith(PNG) for key in charts)
    assert not any("base64" in str(value.value) for value in metadata.values())
    stats = {r.data["stat"]: r.data["value"] for r in metadata["stats"].records}
    assert stats["sharpe"] == pytest.approx(metadata["sharpe"].value)
    path = metadata["tearsheet"].value
    html = Path(path).read_text(encoding="utf-8")
    assert "<img" in html and "https://" not in html and "topk" in html


def test_the_risk_report_covers_each_day_and_warns_on_a_broken_limit(research):
    url, run = research["url"], research["runs"]["risk"]
    days = [d for (d,) in _rows(url, "SELECT DISTINCT trading_date FROM risk.summary ORDER BY 1")]
    assert days[0] == RISK_START and days[-1] == END and len(days) == 3
    summary = dict(_rows(url, "SELECT metric, value FROM risk.summary WHERE trading_date = %s", END))
    assert summary["cvar_hist_99"] >= summary["var_hist_99"] >= summary["var_hist_95"] > 0
    assert summary["stress_limit_down_all"] > 0 and summary["half_kelly_topk"] >= 0
    positions = _rows(url, "SELECT symbol, weight, days_to_exit FROM risk.positions WHERE trading_date = %s", END)
    stored = _rows(
        url, "SELECT symbol, weight FROM backtest.positions WHERE strategy = 'topk' AND trading_date = %s", END
    )
    assert {s: pytest.approx(w) for s, w in stored} == {s: w for s, w, _ in positions}
    assert "risk/report:single_name_weight_within_limit" in run.checks_failed  # 5% limit, ~10% names
    assert "risk/report:single_name_weight_within_limit" in run.warnings and not run.errors  # WARN: not fatal
    assert "risk/report:var_within_limit" in run.checks_passed + run.checks_failed
    event = research["instance"].get_latest_materialization_event(dg.AssetKey(["risk", "report"]))
    tearsheet = Path(event.asset_materialization.metadata["tearsheet"].value).read_text(encoding="utf-8")
    assert tearsheet.count("<table") >= 3
    assert "Foreign room usage" in tearsheet


def test_the_risk_report_shows_how_full_each_held_names_foreign_cap_is(research):
    """The simulator knows every cap: usage is filled on every position, in [0, 1], and is the stored room read
    against the same day's listing (limit × shares outstanding)."""
    rows = _rows(
        research["url"],
        "SELECT p.trading_date, p.symbol, p.foreign_room_usage, p.foreign_room, p.share_of_foreign_room, p.shares,"
        " l.foreign_limit, l.shares_outstanding, f.room_remaining FROM risk.positions p"
        " JOIN market.listings l USING (trading_date, symbol) JOIN market.foreign_flows f USING (trading_date, symbol)"
        " WHERE p.strategy = 'topk' ORDER BY 1, 2",
    )
    n_positions = _rows(research["url"], "SELECT count(*) FROM risk.positions WHERE strategy = 'topk'")[0][0]
    assert len(rows) == n_positions > 0
    for day, symbol, usage, room, share, shares, limit, outstanding, room_remaining in rows:
        assert usage is not None and 0.0 <= usage <= 1.0, (day, symbol, usage)
        assert limit in (0.30, 0.49, 1.0) and outstanding > 0
        assert room == room_remaining  # the room of the report day, as stored by market/foreign_flows
        assert usage == pytest.approx(1.0 - room / (limit * outstanding), abs=1e-12), (day, symbol)
        assert share == (pytest.approx(shares / room) if room > 0 else None)


def test_the_risk_report_of_a_day_ignores_everything_after_it(research):
    window = StressWindow("fixed", MODEL_START, next_trading_day(MODEL_START, 10))

    def report(through):
        with psycopg.connect(research["url"]) as conn:
            inputs = read_risk_inputs(conn, "topk", RISK_START, through, 250)
        book = inputs.book_on(RISK_START)
        return build_report(book, [window], inputs.strategy_returns(RISK_START)), book

    cut, cut_book = report(RISK_START)
    full, full_book = report(END)
    assert cut_book.asset_returns.index.max() == RISK_START == full_book.asset_returns.index.max()
    assert cut.summary == pytest.approx(full.summary, nan_ok=True)


def test_topk_with_min_variance_weights_respects_the_cap(research):
    """Late in the module: it rewrites backtest/topk's rows with a risk-based weighting."""
    config = {"ops": {"backtest__topk": {"config": {"weighting": "min_variance", "max_weight": 0.12}}}}
    job = defs.resolve_job_def("backtest")
    result = job.execute_in_process(
        run_config=config,
        instance=research["instance"],
        resources={"warehouse": WarehouseResource(database_url=research["url"])},
        op_selection=["backtest__topk*"],
        raise_on_error=False,
    )
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    targets = [w for (w,) in _rows(research["url"], "SELECT target_weight FROM backtest.orders WHERE strategy = 'topk'"
                                   " AND target_weight > 0")]  # fmt: skip
    assert max(targets) <= 0.12 + 1e-9
    assert len({round(w, 6) for w in targets}) > 10  # weights follow the covariance, not 1/k


def test_a_failed_gate_leaves_the_predictions_empty(research):
    """Last in the module: the same training with a Rank IC minimum no model can reach fails the blocking gate,
    stores its models unapproved in ml.models, and the predictions published after it are empty."""
    instance, url = research["instance"], research["url"]
    resources = {"warehouse": WarehouseResource(database_url=url),
                 "market_source": MarketSourceResource(n_symbols=12, intraday_since=END.isoformat())}  # fmt: skip
    config = {"ops": {"ml__models": {"config": {"start": MODEL_START.isoformat(), **MODEL_CONFIG,
                                                    "min_oos_rank_ic": 1.0}}}}  # fmt: skip
    gated = run_job(defs, "train", instance, config, resources)
    gate = "ml/models:oos_rank_ic_above_minimum"
    assert gate in gated.errors  # blocking, ERROR severity
    assert gated.metadata[gate]["min_oos_rank_ic"] == 1.0 and gated.metadata[gate]["models_approved"] == 0
    trained = instance.get_latest_materialization_event(dg.AssetKey(["ml", "models"])).asset_materialization
    model_ids = trained.metadata["model_ids"].value
    assert trained.metadata["approved"].value is False and model_ids
    with psycopg.connect(url) as conn:
        assert load_models(conn, approved_only=True) == []  # the same models as before: their approval is revoked
    assert dict(_rows(url, "SELECT model_id, approved FROM ml.models WHERE model_id = ANY(%s)", model_ids)) == {
        model_id: False for model_id in model_ids
    }
    assert _rows(url, "SELECT count(*) FROM ml.predictions")[0][0] > 0  # what the approved models published
    predicted = run_window(defs, "predict", MODEL_START, END, instance, resources=resources)
    assert predicted.success
    assert _rows(url, "SELECT count(*) FROM ml.predictions WHERE trading_date BETWEEN %s AND %s", MODEL_START, END) == [
        (0,)
    ]
    published = instance.get_latest_materialization_event(dg.AssetKey(["ml", "predictions"])).asset_materialization
    assert published.metadata["dagster/row_count"].value == 0 and published.metadata["days_scored"].value == 0
