"""Self-contained HTML tearsheets for a backtest and for a daily risk report, and an atomic writer for them.

A tearsheet is one HTML file with inline CSS and charts as ``data:`` URIs: no scripts, external fonts, stylesheets or
links, so it opens offline, can be attached to a ticket or e-mail, and is safe to serve from a static directory. A
Content-Security-Policy meta tag makes that explicit to the browser. Every piece of caller-supplied text (strategy
names, symbols, parameter values, column names) is HTML-escaped; missing values are shown as an em dash.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from html import escape as _html_escape
from pathlib import Path

import pandas as pd

from vn_pipeline.lib.reports import charts
from vn_pipeline.lib.reports.files import write_atomically
from vn_pipeline.lib.reports.formatting import (
    MISSING,
    format_param,
    format_value,
    kind_of,
    label,
    split_bands,
)

MAX_TABLE_ROWS = 200

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: #212121; max-width: 1000px; margin: 24px auto; padding: 0 16px; line-height: 1.4; }
h1 { font-size: 1.45em; margin: 0 0 4px; }
h2 { font-size: 1.1em; margin: 24px 0 6px; border-bottom: 2px solid #1f4e79; padding-bottom: 2px; }
.meta { color: #616161; font-size: 0.9em; margin: 0; }
.meta span + span::before { content: " · "; }
table { border-collapse: collapse; font-size: 0.88em; margin: 6px 0 12px; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e0e0e0; text-align: left; vertical-align: top; }
th { background: #f5f7fa; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.neg { color: #b22222; }
.note { color: #757575; font-size: 0.85em; }
img { display: block; max-width: 100%; height: auto; margin: 8px 0; }
""".strip()

# The document may load nothing but its own inline style and data: images.
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


# --------------------------------------------------------------------------------------------------------------------
# HTML building blocks (all return escaped HTML)
# --------------------------------------------------------------------------------------------------------------------


def _esc(text: object) -> str:
    return _html_escape(str(text), quote=True)


def _cell(text: str, numeric: bool, tag: str = "td") -> str:
    cls = []
    if numeric:
        cls.append("num")
        if tag == "td" and text.startswith("-") and text != MISSING:
            cls.append("neg")
    attr = f' class="{" ".join(cls)}"' if cls else ""
    return f"<{tag}{attr}>{_esc(text)}</{tag}>"


def _table(header: Sequence[tuple[str, bool]] | None, rows: Iterable[Sequence[tuple[str, bool]]]) -> str:
    """Rows of (display text, is_numeric); text is escaped here, exactly once."""
    parts = ["<table>"]
    if header:
        parts.append("<thead><tr>" + "".join(_cell(t, n, "th") for t, n in header) + "</tr></thead>")
    parts.append("<tbody>")
    parts.extend("<tr>" + "".join(_cell(t, n) for t, n in row) + "</tr>" for row in rows)
    parts.append("</tbody></table>")
    return "".join(parts)


def _img(png: bytes, alt: str) -> str:
    return f'<img src="{charts.png_data_uri(png)}" alt="{_esc(alt)}">'


def _note(text: str) -> str:
    return f'<p class="note">{_esc(text)}</p>'


def _section(title: str, *body: str) -> str:
    return f"<section><h2>{_esc(title)}</h2>{''.join(body)}</section>"


def _meta(items: Iterable[str]) -> str:
    return '<p class="meta">' + "".join(f"<span>{_esc(i)}</span>" for i in items) + "</p>"


def _document(title: str, heading: str, meta: Iterable[str], body: Iterable[str]) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_esc(title)}</title>",
            f"<style>\n{_CSS}\n</style>",
            "</head>",
            "<body>",
            f"<header><h1>{_esc(heading)}</h1>{_meta(meta)}</header>",
            *body,
            "</body>",
            "</html>",
            "",
        ]
    )


def _generated(at: dt.datetime | None) -> str:
    at = at or dt.datetime.now(dt.UTC)
    if at.tzinfo is None:
        return f"Generated {at:%Y-%m-%d %H:%M}"
    return f"Generated {at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


# --------------------------------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------------------------------


def stats_table(stats: Mapping[str, object]) -> str:
    """Metric | Value [| MC p05 | MC p95 ...]: Monte Carlo band keys ("sharpe_p05") join their metric's row."""
    keys, quantiles, rows = split_bands(dict(stats))
    header = [("Metric", False), ("Value", True), *((f"MC {q}", True) for q in quantiles)]
    body = []
    for key in keys:
        row = rows[key]
        cells = [(label(key), False), (format_value(key, row.get("value")), True)]
        cells.extend((format_value(key, row.get(q)), True) for q in quantiles)
        body.append(cells)
    return _table(header, body)


def _pairs_table(pairs: Iterable[tuple[str, str]]) -> str:
    return _table(None, ([(k, False), (v, True)] for k, v in pairs))


def frame_table(frame: pd.DataFrame, max_rows: int = MAX_TABLE_ROWS) -> str:
    """A DataFrame as a formatted table: each column formatted by its name (see ``formatting.kind_of``)."""
    df = frame
    if not isinstance(df.index, pd.RangeIndex) or df.index.name is not None:
        df = df.reset_index()
    truncated = len(df) > max_rows
    df = df.head(max_rows)
    cols = [str(c) for c in df.columns]
    numeric = [pd.api.types.is_numeric_dtype(df.iloc[:, j].dtype) for j in range(len(cols))]
    kinds = [kind_of(c) for c in cols]
    header = [(label(c), n) for c, n in zip(cols, numeric, strict=True)]
    body = [
        [(format_value(cols[j], v, kinds[j]), numeric[j]) for j, v in enumerate(values)]
        for values in df.itertuples(index=False, name=None)
    ]
    out = _table(header, body)
    if truncated:
        out += _note(f"First {max_rows} of {len(frame)} rows.")
    return out


def trades_summary(trades: pd.DataFrame) -> list[tuple[str, str]]:
    """(label, value) pairs: fills, buys, sells, symbols, traded value, fees, sale tax, costs in bps of traded value.

    Expects the backtest trade table (date, symbol, side, shares, price, fees, tax); absent columns are skipped.
    """
    out: list[tuple[str, str]] = [("Fills", f"{len(trades):,}")]
    side = trades["side"].astype(str).str.lower() if "side" in trades else None
    if side is not None:
        out += [("Buys", f"{int((side == 'buy').sum()):,}"), ("Sells", f"{int((side == 'sell').sum()):,}")]
    if "symbol" in trades:
        out.append(("Symbols traded", f"{trades['symbol'].nunique():,}"))
    if "date" in trades and len(trades):
        dates = pd.to_datetime(trades["date"], errors="coerce").dropna()
        if len(dates):
            out.append(("First / last fill", f"{dates.min().date().isoformat()} / {dates.max().date().isoformat()}"))
    traded = float("nan")
    if {"shares", "price"} <= set(trades.columns):
        value = pd.to_numeric(trades["shares"], errors="coerce").abs() * pd.to_numeric(trades["price"], errors="coerce")
        traded = float(value.sum())
        if side is not None:
            out.append(("Bought value (VND)", format_value("value", float(value[side == "buy"].sum()))))
            out.append(("Sold value (VND)", format_value("value", float(value[side == "sell"].sum()))))
        else:
            out.append(("Traded value (VND)", format_value("value", traded)))
    costs = 0.0
    for col, text in (("fees", "Brokerage fees (VND)"), ("tax", "Sale tax (VND)")):
        if col in trades:
            total = float(pd.to_numeric(trades[col], errors="coerce").sum())
            costs += total
            out.append((text, format_value("value", total)))
    if traded > 0 and ("fees" in trades or "tax" in trades):
        out.append(("Costs (bps of traded value)", f"{costs / traded * 1e4:.1f}"))
    return out


def _params_table(params: Mapping[str, object]) -> str:
    def show(v: object) -> str:
        if isinstance(v, Mapping | list | tuple):
            return json.dumps(v, default=str, ensure_ascii=False, sort_keys=isinstance(v, Mapping))
        return format_param(v)

    rows = ([(str(k), False), (show(v), False)] for k, v in params.items())
    return _table([("Parameter", False), ("Value", False)], rows)


# --------------------------------------------------------------------------------------------------------------------
# Tearsheets
# --------------------------------------------------------------------------------------------------------------------


def _window(eq: pd.Series) -> str:
    valid = eq.dropna()
    if valid.empty:
        return "Window: —"
    first, last = valid.index[0], valid.index[-1]
    fmt = (lambda t: t.date().isoformat()) if isinstance(valid.index, pd.DatetimeIndex) else str
    return f"Window: {fmt(first)} → {fmt(last)} ({len(valid):,} trading days)"


def backtest_tearsheet(
    name: str,
    equity: pd.Series,
    benchmark: pd.Series | None = None,
    cash: pd.Series | None = None,
    stats: Mapping[str, object] | None = None,
    trades: pd.DataFrame | None = None,
    params: Mapping[str, object] | None = None,
    *,
    benchmark_label: str = "VN30",
    rolling_window: int = 63,
    generated_at: dt.datetime | None = None,
) -> str:
    """One self-contained HTML document for a backtest: header, stats (with Monte Carlo bands when present), equity vs
    rebased benchmark, drawdown, invested fraction, rolling Sharpe, a trades summary and the parameters."""
    eq = charts.as_series(equity)
    valid = eq.dropna()
    meta = [_window(eq)]
    if len(valid):
        meta.append(f"Equity {format_value('equity', valid.iloc[0])} → {format_value('equity', valid.iloc[-1])} VND")
    if benchmark is not None:
        bm = charts.rebase_benchmark(eq, benchmark).dropna()
        if len(bm) > 1:
            meta.append(f"{benchmark_label} over window {format_value('return', bm.iloc[-1] / bm.iloc[0] - 1.0)}")
    meta.append(_generated(generated_at))

    body = []
    body.append(_section("Statistics", stats_table(stats) if stats else _note("No statistics.")))

    returns = eq.pct_change(fill_method=None)
    figures = [
        _img(
            charts.equity_chart(eq, benchmark, "Equity (VND)", benchmark_label=f"{benchmark_label} (rebased)"),
            "Equity curve",
        ),
        _img(charts.drawdown_chart(eq), "Drawdown"),
    ]
    if cash is not None:
        figures.append(_img(charts.exposure_chart(eq, cash), "Invested fraction"))
    else:
        figures.append(_note("No cash series: exposure chart omitted."))
    figures.append(_img(charts.rolling_sharpe_chart(returns, rolling_window), "Rolling Sharpe"))
    body.append(_section("Charts", *figures))

    if trades is not None:
        body.append(_section("Trades", _pairs_table(trades_summary(trades)) if len(trades) else _note("No trades.")))
    if params:
        body.append(_section("Parameters", _params_table(params)))
    return _document(f"Backtest — {name}", f"Backtest — {name}", meta, body)


def _labels(frame: pd.DataFrame, preferred: Sequence[str]) -> pd.Index:
    for col in preferred:
        if col in frame.columns:
            return pd.Index(frame[col].astype(str))
    return pd.Index(frame.index.astype(str))


def risk_tearsheet(
    as_of: dt.date,
    strategy: str,
    summary: Mapping[str, object],
    positions: pd.DataFrame | None,
    stress: pd.DataFrame | None,
    equity: pd.Series | None = None,
    *,
    generated_at: dt.datetime | None = None,
) -> str:
    """One self-contained HTML document for a daily risk report: summary (VaR/CVaR are positive loss fractions of
    NAV), per-position table with a weights chart, stress scenarios with a loss chart, and a drawdown chart when the
    equity history is given."""
    day = format_value("as_of", as_of)
    meta = [f"As of {day}", _generated(generated_at)]
    body = [_section("Summary", stats_table(summary) if summary else _note("No summary."))]

    if positions is not None and len(positions):
        parts = [frame_table(positions)]
        if "weight" in positions.columns:
            weights = pd.to_numeric(positions["weight"], errors="coerce").to_numpy()
            w = pd.Series(weights, index=_labels(positions, ["symbol"]))
            parts.append(_img(charts.bar_chart(w.sort_values(ascending=False), "Position weights"), "Position weights"))
        body.append(_section("Positions", *parts))
    else:
        body.append(_section("Positions", _note("No positions.")))

    if stress is not None and len(stress):
        parts = [frame_table(stress)]
        if "loss" in stress.columns:
            loss = pd.Series(
                pd.to_numeric(stress["loss"], errors="coerce").to_numpy(), index=_labels(stress, ["name", "scenario"])
            )
            parts.append(_img(charts.bar_chart(loss, "Stress loss (fraction of NAV)"), "Stress losses"))
        body.append(_section("Stress scenarios", *parts))
    else:
        body.append(_section("Stress scenarios", _note("No stress scenarios.")))

    if equity is not None:
        body.append(_section("Drawdown", _img(charts.drawdown_chart(equity), "Drawdown")))
    title = f"Risk report — {strategy} — {day}"
    return _document(title, f"Risk report — {strategy}", meta, body)


def write_html(html: str, directory: Path | str, filename: str) -> Path:
    """Write ``html`` (UTF-8) to ``directory/filename`` atomically (see ``files.write_atomically``): a reader or web
    server never sees a half-written report. Creates the directory; returns the final path."""
    return write_atomically(html.encode("utf-8"), directory, filename)
