-- Market-data tables. Prices are integer VND; every table carries trading_date, the partition key that
-- idempotent partition writes delete by. Plain PostgreSQL here; 001_market.timescale.sql upgrades the
-- time-series tables to hypertables when the timescaledb extension is available.
CREATE SCHEMA IF NOT EXISTS market;

CREATE TABLE market.listings (
    trading_date     date    NOT NULL,
    symbol           text    NOT NULL,
    exchange         text    NOT NULL CHECK (exchange IN ('HOSE', 'HNX', 'UPCOM')),
    instrument_type  text    NOT NULL DEFAULT 'stock',
    sector           text,
    reference_price  bigint  NOT NULL CHECK (reference_price > 0),
    ceiling_price    bigint  NOT NULL,
    floor_price      bigint  NOT NULL,
    first_day        boolean NOT NULL DEFAULT false,
    PRIMARY KEY (trading_date, symbol)
);

CREATE TABLE market.raw_ticks (
    ts           timestamptz NOT NULL,
    trading_date date        NOT NULL,
    symbol       text        NOT NULL,
    seq          integer     NOT NULL,           -- order of the trade within (trading_date, symbol)
    price        bigint      NOT NULL,
    volume       bigint      NOT NULL,
    side         text,                           -- aggressor: 'B' buy, 'S' sell, NULL for auction prints
    session      text        NOT NULL            -- 'ATO', 'CONT', 'ATC', 'PLO'
);
-- Only the partition key is indexed, with BRIN: every pipeline read and rewrite is by trading day, and btrees on
-- (symbol, ts) and trading_date cut binary-COPY writes from ~0.84 M to ~0.22 M rows/s (bench/warehouse_write.py).
-- One symbol's day is a scan of that day; under TimescaleDB, compression segmented by symbol gives locality.
CREATE INDEX raw_ticks_trading_date ON market.raw_ticks USING brin (trading_date);

CREATE TABLE market.ohlcv_1m (
    ts           timestamptz      NOT NULL,      -- bar start
    trading_date date             NOT NULL,
    symbol       text             NOT NULL,
    open         bigint           NOT NULL,
    high         bigint           NOT NULL,
    low          bigint           NOT NULL,
    close        bigint           NOT NULL,
    volume       bigint           NOT NULL,
    value        bigint           NOT NULL,      -- VND traded
    vwap         double precision NOT NULL,
    trade_count  integer          NOT NULL,
    buy_volume   bigint           NOT NULL,
    sell_volume  bigint           NOT NULL
);
CREATE INDEX ohlcv_1m_symbol_ts ON market.ohlcv_1m (symbol, ts);
CREATE INDEX ohlcv_1m_trading_date ON market.ohlcv_1m (trading_date);

CREATE TABLE market.ohlcv_1d (
    trading_date date             NOT NULL,
    symbol       text             NOT NULL,
    open         bigint           NOT NULL,
    high         bigint           NOT NULL,
    low          bigint           NOT NULL,
    close        bigint           NOT NULL,
    volume       bigint           NOT NULL,
    value        bigint           NOT NULL,
    vwap         double precision,
    trade_count  integer,
    buy_volume   bigint,
    sell_volume  bigint,
    ato_price    bigint,
    atc_price    bigint,
    source       text             NOT NULL CHECK (source IN ('ticks', 'daily_bars'))
);
CREATE INDEX ohlcv_1d_symbol_date ON market.ohlcv_1d (symbol, trading_date);
CREATE INDEX ohlcv_1d_trading_date ON market.ohlcv_1d (trading_date);

CREATE TABLE market.foreign_flows (
    trading_date   date   NOT NULL,
    symbol         text   NOT NULL,
    buy_volume     bigint NOT NULL,
    sell_volume    bigint NOT NULL,
    buy_value      bigint NOT NULL,
    sell_value     bigint NOT NULL,
    room_remaining bigint NOT NULL,
    PRIMARY KEY (trading_date, symbol)
);

-- Rows that broke a market rule: kept with the rule and the reason, never silently dropped.
CREATE TABLE market.quarantine (
    trading_date date        NOT NULL,
    source_table text        NOT NULL,
    symbol       text,
    rule         text        NOT NULL,
    detail       text        NOT NULL,
    row_data     jsonb       NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX quarantine_date_table ON market.quarantine (trading_date, source_table);
