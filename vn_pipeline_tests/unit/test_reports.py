"""Charts (PNG bytes, size, aspect, degenerate inputs, thread safety) and HTML tearsheets (self-contained, formatted,
escaped) plus the atomic writer."""

from __future__ import annotations

import base64
import datetime as dt
import io
import os
import re
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from vn_pipeline.lib.reports import (
    backtest_tearsheet,
    bar_chart,
    charts,
    drawdown_chart,
    equity_chart,
    exposure_chart,
    files,
    format_value,
    png_markdown,
    rebase_benchmark,
    risk_tearsheet,
    rolling_sharpe_chart,
    write_html,
)
from vn_pipeline.lib.reports import formatting as fmt
from vn_pipeline.lib.reports import tearsheet as ts

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DAYS = pd.bdate_range("2022-01-03", periods=750)
GENERATED = dt.datetime(2025, 1, 2, 3, 4, tzinfo=dt.UTC)


def _equity(n: int = 750, seed: int = 0) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(1e9 * np.exp(np.cumsum(rng.normal(3e-4, 0.012, n))), index=DAYS[:n], name="equity")


def _benchmark(n: int = 750, seed: int = 1) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(1250.0 * np.exp(np.cumsum(rng.normal(2e-4, 0.011, n))), index=DAYS[:n], name="vn30")


def _decode(png: bytes) -> np.ndarray:
    assert png.startswith(PNG_SIGNATURE)
    return mpimg.imread(io.BytesIO(png), format="png")


STATS = {
    "total_return": 0.1234,
    "annualized_return": 0.0417,
    "annualized_volatility": 0.1876,
    "sharpe": 1.2345,
    "sortino": 1.789,
    "calmar": 0.456,
    "max_drawdown": -0.2411,
    "turnover": 3.21,
    "win_rate": float("nan"),
    "excess_return": 0.0201,
    "information_ratio": 0.314,
    "sharpe_p05": 0.2049,
    "sharpe_p95": 1.9051,
    "max_drawdown_p05": -0.3512,
    "max_drawdown_p95": -0.1033,
}


def _trades() -> pd.DataFrame:
    t = pd.DataFrame(
        {
            "date": DAYS[:4].date,
            "symbol": ["VNM", "FPT", "VNM", "HPG"],
            "side": ["buy", "buy", "sell", "buy"],
            "shares": [100, 200, 100, 300],
            "price": [70_000.0, 90_000.0, 72_000.0, 25_000.0],
        }
    )
    value = t["shares"] * t["price"]
    t["fees"] = value * 0.0015
    t["tax"] = np.where(t["side"] == "sell", value * 0.001, 0.0)
    return t


class _Refs(HTMLParser):
    """Collects every URL-bearing attribute and every tag name, to check the document loads nothing external."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "action", "data", "poster"):
                self.urls.append((tag, name, value or ""))


def _refs(html: str) -> _Refs:
    p = _Refs()
    p.feed(html)
    p.close()
    return p


@pytest.fixture(scope="module")
def backtest_html() -> str:
    eq = _equity()
    bm = _benchmark().drop(DAYS[10:30])  # index holidays / missing vendor days
    cash = eq * np.random.default_rng(2).uniform(0.02, 0.3, len(eq))
    params = {"topk": 10, "n_drop": 2, "init_cash": 1e9, "buy_fee": 0.0015, "note": "<i>tuned</i>"}
    return backtest_tearsheet("TopK <b>Evil</b> & co", eq, bm, cash, STATS, _trades(), params, generated_at=GENERATED)


# --------------------------------------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: equity_chart(_equity(), _benchmark(), "Equity"),
        lambda: drawdown_chart(_equity()),
        lambda: exposure_chart(_equity(), _equity() * 0.2),
        lambda: rolling_sharpe_chart(_equity().pct_change(), window=63),
    ],
    ids=["equity", "drawdown", "exposure", "rolling_sharpe"],
)
def test_time_series_charts_are_small_pngs_with_the_figure_aspect(make) -> None:
    png = make()
    img = _decode(png)
    h, w = img.shape[:2]
    assert (w, h) == (round(charts.WIDTH_IN * charts.DPI), round(charts.HEIGHT_IN * charts.DPI))
    assert w / h == pytest.approx(8 / 3, rel=0.01)
    assert len(png) < 80_000
    assert img[..., :3].std() > 0.01  # something was drawn, not a blank canvas


def test_bar_chart_grows_with_bars_and_caps_their_number() -> None:
    few = _decode(bar_chart(pd.Series([0.3, 0.2, -0.05], index=["VNM", "FPT", "HPG"]), "Weights"))
    assert few.shape[1] == 720 and few.shape[0] == 270
    many = pd.Series(np.linspace(0.001, 0.05, 120), index=[f"S{i:03d}" for i in range(120)])
    png = bar_chart(many, "Weights", max_bars=30)
    img = _decode(png)
    assert img.shape[0] > 270  # taller for more rows ...
    capped = _decode(bar_chart(many.head(30), "Weights", max_bars=30))
    assert img.shape == capped.shape  # ... but 120 labels draw no more rows than 30
    assert len(png) < 80_000


def test_png_markdown_round_trips_and_escapes_alt() -> None:
    png = drawdown_chart(_equity(100))
    md = png_markdown(png, "Drawdown [TopK]\nnext")
    m = re.fullmatch(r"!\[(?P<alt>(?:\\.|[^\]\\])*)\]\(data:image/png;base64,(?P<b64>[A-Za-z0-9+/=]+)\)", md)
    assert m is not None
    assert m.group("alt") == r"Drawdown \[TopK\] next"
    assert base64.b64decode(m.group("b64"), validate=True) == png


def test_rebase_benchmark_aligns_ffills_and_starts_at_equity() -> None:
    eq = _equity(60)
    bm = _benchmark(60)
    gappy = bm.drop(DAYS[[0, 1, 7, 8, 9]])
    out = rebase_benchmark(eq, gappy)
    assert out.index.equals(eq.index)
    # The first two dates precede any benchmark value; scale is fixed on the first common date.
    assert out.iloc[:2].isna().all()
    assert out.iloc[2] == pytest.approx(eq.iloc[2])
    scale = eq.iloc[2] / bm.iloc[2]
    assert out.iloc[7] == pytest.approx(bm.iloc[6] * scale)  # a missing day carries the previous level
    assert out.iloc[-1] == pytest.approx(bm.iloc[-1] * scale)


def test_rebase_benchmark_matches_across_date_types() -> None:
    eq = _equity(30)
    eq_dates = pd.Series(eq.to_numpy(), index=list(eq.index.date))  # the backtest indexes by datetime.date
    bm = _benchmark(30).tz_localize("Asia/Ho_Chi_Minh")
    out = rebase_benchmark(eq_dates, bm)
    assert out.notna().all()
    assert out.iloc[0] == pytest.approx(eq.iloc[0])
    assert out.iloc[-1] / out.iloc[0] == pytest.approx(bm.iloc[-1] / bm.iloc[0])


def test_equity_chart_with_gappy_benchmark_draws_it() -> None:
    eq = _equity(200)
    bm = _benchmark(200).drop(DAYS[50:80])
    with_bm = equity_chart(eq, bm, "Equity")
    _decode(with_bm)
    assert with_bm != equity_chart(eq, None, "Equity")
    # A benchmark that never overlaps the equity dates is ignored rather than crashing the chart.
    disjoint = pd.Series([1.0, 2.0], index=pd.to_datetime(["2010-01-04", "2010-01-05"]))
    later = _benchmark(5)
    later.index = pd.bdate_range("2030-01-01", periods=5)
    _decode(equity_chart(eq, later, "Equity"))
    _decode(equity_chart(eq.iloc[:0], disjoint, "Equity"))


def test_exposure_handles_zero_equity_and_nans() -> None:
    eq = _equity(40)
    eq.iloc[5] = 0.0
    eq.iloc[6] = np.nan
    eq.iloc[7] = -1.0
    cash = eq * 0.25
    cash.iloc[10] = np.nan
    cash = cash.drop(DAYS[20])
    inv = charts.invested_fraction(eq, cash)
    assert inv.iloc[[5, 6, 7, 10, 20]].isna().all()
    assert inv.dropna().to_numpy() == pytest.approx(0.75)
    _decode(exposure_chart(eq, cash))
    zeros = pd.Series(0.0, index=DAYS[:10])
    _decode(exposure_chart(zeros, zeros))  # nothing defined: a "no data" chart, not ZeroDivisionError
    _decode(exposure_chart(pd.Series(np.nan, index=DAYS[:10]), pd.Series(dtype=float)))


def test_drawdown_and_rolling_sharpe_values() -> None:
    eq = pd.Series([100.0, 110.0, 99.0, 121.0, np.nan, 60.5], index=DAYS[:6])
    dd = charts.drawdown(eq)
    assert dd.to_numpy() == pytest.approx([0.0, 0.0, -0.1, 0.0, -0.5])
    r = _equity(120).pct_change()
    rs = charts.rolling_sharpe(r, window=63)
    last = r.iloc[-63:]
    assert rs.iloc[-1] == pytest.approx(last.mean() / last.std(ddof=1) * np.sqrt(252))
    assert rs.iloc[:63].isna().all()  # first return is NaN, so the first full window ends at row 63
    _decode(rolling_sharpe_chart(r.iloc[:10], window=63))  # shorter than a window: still a chart
    _decode(drawdown_chart(pd.Series(dtype=float)))


def test_charts_are_thread_safe_and_deterministic() -> None:
    eq = _equity(120)
    jobs = [
        lambda: equity_chart(eq, _benchmark(120), "Equity"),
        lambda: drawdown_chart(eq),
        lambda: exposure_chart(eq, eq * 0.1),
        lambda: rolling_sharpe_chart(eq.pct_change()),
    ]
    serial = [job() for job in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda job: job(), jobs))
    assert parallel == serial


# --------------------------------------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "text"),
    [
        ("sharpe", 1.2345, "1.23"),
        ("total_return", 0.1234, "12.34%"),
        ("max_drawdown", -0.2411, "-24.11%"),
        ("sharpe_p95", 1.9051, "1.91"),
        ("max_drawdown_p05", -0.3512, "-35.12%"),
        ("var_hist_95", 0.021, "2.10%"),
        ("cvar_param_99", 0.0345, "3.45%"),
        ("win_rate", 0.5, "50.00%"),
        ("beta", 0.951, "0.95"),
        ("hhi", 0.23456, "0.235"),
        ("turnover", 3.2, "3.20×"),
        ("days_to_exit", 1.25, "1.2"),
        ("sortino", float("inf"), "∞"),
        ("sharpe", None, "—"),
        ("sharpe", float("nan"), "—"),
        ("sharpe", np.float64("nan"), "—"),
        ("as_of", pd.NaT, "—"),
        ("as_of", dt.date(2024, 11, 15), "2024-11-15"),
        ("shares", 1_234_500, "1,234,500"),
        ("nav", 1_234_567_890.4, "1,234,567,890"),
        ("positions", 12.0, "12"),
    ],
)
def test_format_value(key: str, value: object, text: str) -> None:
    assert format_value(key, value) == text


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("sharpe", "Sharpe ratio"),
        ("var_hist_95", "VaR historical 95%"),
        ("cvar_mc_97_5", "CVaR Monte Carlo 97.5%"),
        ("stress_covid_2020", "Stress covid 2020"),
        ("adv20_value", "ADV20 value"),
    ],
)
def test_labels(key: str, text: str) -> None:
    assert fmt.label(key) == text


# --------------------------------------------------------------------------------------------------------------------
# Tearsheets
# --------------------------------------------------------------------------------------------------------------------


def test_backtest_tearsheet_is_self_contained(backtest_html: str) -> None:
    html = backtest_html
    assert html.startswith("<!DOCTYPE html>")
    assert "http://" not in html and "https://" not in html
    refs = _refs(html)
    assert "script" not in refs.tags and "link" not in refs.tags and "iframe" not in refs.tags
    assert "<script" not in html.lower()
    imgs = [u for tag, _, u in refs.urls if tag == "img"]
    assert len(imgs) == 4  # equity, drawdown, exposure, rolling Sharpe
    assert all(u.startswith("data:image/png;base64,") for _, _, u in refs.urls)
    for u in imgs:
        _decode(base64.b64decode(u.split(",", 1)[1]))
    assert "<style>" in html and "@import" not in html and "url(" not in html


def _row(html: str, metric: str) -> list[str]:
    m = re.search(rf"<tr><td>{re.escape(metric)}</td>(.*?)</tr>", html)
    assert m is not None, metric
    return re.findall(r"<td[^>]*>(.*?)</td>", m.group(1))


def test_backtest_tearsheet_formats_stats(backtest_html: str) -> None:
    html = backtest_html
    assert _row(html, "Sharpe ratio") == ["1.23", "0.20", "1.91"]  # value, MC p05, MC p95
    assert _row(html, "Total return") == ["12.34%", "—", "—"]
    assert _row(html, "Max drawdown") == ["-24.11%", "-35.12%", "-10.33%"]
    assert _row(html, "Win rate")[0] == "—"  # NaN (no closed round trips)
    assert _row(html, "Information ratio")[0] == "0.31"
    assert "MC p05" in html and "MC p95" in html
    assert "Window: 2022-01-03 → " in html and "(750 trading days)" in html
    assert "Generated 2025-01-02 03:04 UTC" in html


def test_backtest_tearsheet_trades_and_params(backtest_html: str) -> None:
    html = backtest_html
    t = _trades()
    assert _row(html, "Fills") == ["4"]
    assert _row(html, "Buys") == ["3"] and _row(html, "Sells") == ["1"]
    assert _row(html, "Brokerage fees (VND)") == [f"{t['fees'].sum():,.0f}"]
    assert _row(html, "Sale tax (VND)") == ["7,200"]
    assert _row(html, "init_cash") == ["1,000,000,000"]
    assert _row(html, "buy_fee") == ["0.0015"]  # parameters shown exactly, not rounded like stats


def test_tearsheets_escape_text(backtest_html: str) -> None:
    html = backtest_html
    assert "<b>" not in html and "<i>" not in html
    assert "TopK &lt;b&gt;Evil&lt;/b&gt; &amp; co" in html
    assert "&lt;i&gt;tuned&lt;/i&gt;" in html
    positions = pd.DataFrame({"symbol": ["<script>alert(1)</script>"], "weight": [0.5]})
    stress = pd.DataFrame({"name": ["crash & <burn>"], "loss": [0.3]})
    risk = risk_tearsheet(dt.date(2024, 11, 15), "<b>x</b>", {"var_hist_95": 0.02}, positions, stress)
    assert "<script" not in risk and "<b>" not in risk and "<burn>" not in risk
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in risk
    assert "crash &amp; &lt;burn&gt;" in risk


def test_backtest_tearsheet_minimal_inputs() -> None:
    eq = _equity(40)
    html = backtest_tearsheet("bare", eq, None, None, {}, None, None, generated_at=GENERATED)
    assert "No statistics." in html and "exposure chart omitted" in html
    assert "Trades" not in html and "Parameters" not in html
    assert len([1 for tag, _, _ in _refs(html).urls if tag == "img"]) == 3
    empty_trades = pd.DataFrame(columns=["date", "symbol", "side", "shares", "price", "fees", "tax"])
    assert "No trades." in backtest_tearsheet("bare", eq, None, None, STATS, empty_trades, None)


def test_risk_tearsheet() -> None:
    summary = {
        "var_hist_95": 0.0213,
        "cvar_hist_95": 0.0301,
        "var_param_99": 0.0352,
        "var_mc_95": 0.0222,
        "volatility": 0.18,
        "beta": 0.9512,
        "max_drawdown": -0.24,
        "hhi": 0.2345,
        "half_kelly": float("nan"),
        "stress_covid_2020": 0.31,
    }
    positions = pd.DataFrame(
        {
            "symbol": ["VNM", "FPT", "HPG"],
            "weight": [0.30, 0.25, 0.10],
            "var_95": [0.021, 0.031, 0.042],
            "cvar_95": [0.03, 0.04, 0.06],
            "days_to_exit": [0.4, 1.25, np.nan],
            "foreign_room": [1_250_000, 0, 35_000],  # shares foreigners may still buy
            "share_of_foreign_room": [0.004, np.nan, 0.5],
            "foreign_room_usage": [0.8123, 1.0, np.nan],  # of the foreign cap; NaN: cap or outstanding unknown
        }
    )
    stress = pd.DataFrame({"name": ["COVID 2020", "2022 bond crisis"], "loss": [0.31, 0.22]})
    html = risk_tearsheet(
        dt.date(2024, 11, 15), "TopK", summary, positions, stress, _equity(100), generated_at=GENERATED
    )
    assert "As of 2024-11-15" in html
    assert _row(html, "VaR historical 95%") == ["2.13%"]
    assert _row(html, "VaR parametric 99%") == ["3.52%"]
    assert _row(html, "Beta") == ["0.95"]
    assert _row(html, "Concentration (HHI)") == ["0.234"]
    assert _row(html, "Half Kelly") == ["—"]
    assert _row(html, "VNM") == ["30.00%", "2.10%", "3.00%", "0.4", "1,250,000", "0.40%", "81.23%"]
    assert _row(html, "FPT")[-3:] == ["0", "—", "100.00%"]
    assert _row(html, "HPG")[3] == "—" and _row(html, "HPG")[-1] == "—"
    assert _row(html, "COVID 2020") == ["31.00%"]
    refs = _refs(html)
    assert "http://" not in html and "https://" not in html and "script" not in refs.tags
    imgs = [u for tag, _, u in refs.urls if tag == "img"]
    assert len(imgs) == 3 and all(u.startswith("data:image/png;base64,") for u in imgs)  # weights, stress, drawdown
    without_equity = risk_tearsheet(dt.date(2024, 11, 15), "TopK", summary, positions, stress)
    assert len([1 for tag, _, _ in _refs(without_equity).urls if tag == "img"]) == 2
    empty = risk_tearsheet(dt.date(2024, 11, 15), "TopK", {}, pd.DataFrame(), pd.DataFrame())
    assert "No positions." in empty and "No stress scenarios." in empty


def test_frame_table_truncates_and_uses_index() -> None:
    frame = pd.DataFrame({"weight": np.full(5, 0.2)}, index=pd.Index(list("ABCDE"), name="symbol"))
    out = ts.frame_table(frame, max_rows=3)
    assert out.count("<tr>") == 4  # header + 3 rows
    assert "First 3 of 5 rows." in out and "<td>A</td>" in out


# --------------------------------------------------------------------------------------------------------------------
# write_html
# --------------------------------------------------------------------------------------------------------------------


def test_write_html_creates_dir_and_leaves_no_temp(tmp_path: Path) -> None:
    target_dir = tmp_path / "reports" / "2024-11-15"
    path = write_html("<p>one</p>", target_dir, "topk.html")
    assert path == target_dir / "topk.html"
    assert path.read_text(encoding="utf-8") == "<p>one</p>"
    path2 = write_html("<p>two ✓</p>", target_dir, "topk.html")
    assert path2 == path and path.read_text(encoding="utf-8") == "<p>two ✓</p>"
    assert sorted(p.name for p in target_dir.iterdir()) == ["topk.html"]
    assert os.stat(path).st_mode & 0o777 == 0o644


def test_write_html_failure_keeps_old_file_and_cleans_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_html("<p>old</p>", tmp_path, "r.html")

    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_html("<p>new</p>", tmp_path, "r.html")
    assert path.read_text(encoding="utf-8") == "<p>old</p>"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_a_chart_is_written_as_a_png_file_and_only_a_png(tmp_path: Path) -> None:
    png = charts.drawdown_chart(pd.Series([100.0, 90.0, 95.0], index=pd.date_range("2024-01-01", periods=3).date))
    path = charts.write_png(png, tmp_path / "reports" / "risk", "topk_drawdown.png")
    assert path == tmp_path / "reports" / "risk" / "topk_drawdown.png" and path.read_bytes() == png
    assert mpimg.imread(path).shape[:2] == (270, 720)
    with pytest.raises(ValueError, match="not a PNG"):
        charts.write_png(b"<svg/>", tmp_path, "x.png")


@pytest.mark.parametrize("bad", ["../escape.html", "sub/r.html", "", ".."])
def test_write_html_rejects_paths_as_filenames(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError):
        write_html("x", tmp_path, bad)
