"""A stand-in model for tests of what comes after the model (backtests, overlays, dashboards)."""

from datetime import date

import psycopg


def seed_reversal_predictions(url: str, trained: date, start: date, end: date) -> None:
    """An approved model 'reversal' whose score is the 5-day reversal of the stored daily closes, for [start, end]:
    the code under test is downstream of the model, so its scores need only be real and point in time."""
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO ml.models (model_id, train_start, train_end, valid_end, data_end, metadata, model_text,"
            " approved) VALUES ('reversal', %s, %s, %s, %s, '{}', '', true)",
            (trained, trained, trained, trained),
        )
        conn.execute(
            "INSERT INTO ml.predictions (trading_date, symbol, score, model_id) SELECT trading_date, symbol, score,"
            " 'reversal' FROM (SELECT trading_date, symbol, 1 - close / lag(close, 5) OVER (PARTITION BY symbol"
            " ORDER BY trading_date) AS score FROM market.ohlcv_1d) s WHERE score IS NOT NULL AND trading_date"
            " BETWEEN %s AND %s",
            (start, end),
        )
