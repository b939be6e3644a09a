-- Backtest results, one strategy per key: re-running a strategy replaces its rows.
CREATE SCHEMA IF NOT EXISTS backtest;

CREATE TABLE backtest.runs (
    strategy    text        PRIMARY KEY,
    finished_at timestamptz NOT NULL DEFAULT now(),
    start_date  date        NOT NULL,
    end_date    date        NOT NULL,
    params      jsonb       NOT NULL,
    stats       jsonb       NOT NULL
);

CREATE TABLE backtest.equity (
    strategy     text             NOT NULL,
    trading_date date             NOT NULL,
    equity       double precision NOT NULL,
    cash         double precision NOT NULL,
    PRIMARY KEY (strategy, trading_date)
);

CREATE TABLE backtest.trades (
    strategy     text             NOT NULL,
    trading_date date             NOT NULL,
    symbol       text             NOT NULL,
    side         text             NOT NULL CHECK (side IN ('buy', 'sell')),
    shares       bigint           NOT NULL CHECK (shares > 0),
    price        double precision NOT NULL,
    fees         double precision NOT NULL,
    tax          double precision NOT NULL
);
CREATE INDEX backtest_trades_strategy_date ON backtest.trades (strategy, trading_date);
