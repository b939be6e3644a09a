-- TimescaleDB upgrade of 001_market.sql, applied only when the timescaledb extension is available
-- (migrations.py creates the extension first). The plain tables have no PRIMARY KEY/UNIQUE constraint
-- without their time column, so they can become hypertables as they are; migrate_data moves any rows
-- already written into chunks.
--
-- Chunk intervals: TimescaleDB advises that the chunks being written (and their indexes) fit in ~25% of RAM.
--   raw_ticks: the whole market prints ~1-3 M trades a day (~1,600 listed symbols); at ~70 B/row plus two
--     indexes that is ~0.2-0.4 GB per day, so 1-day chunks keep the hot chunk small on an 8-16 GB host and
--     make a chunk = a trading-day partition (compression and retention work per day).
--   ohlcv_1m: ~1,600 symbols x ~270 session minutes = ~0.4 M bars/day, ~3 M rows (~0.35 GB with indexes)
--     per 7-day chunk.
--   ohlcv_1d: ~1,600 rows per trading day, ~0.4 M a year; smaller chunks would only add planning overhead,
--     so one chunk per ~year.
SELECT create_hypertable('market.raw_ticks', by_range('ts', INTERVAL '1 day'), migrate_data => true);
SELECT create_hypertable('market.ohlcv_1m', by_range('ts', INTERVAL '7 days'), migrate_data => true);
SELECT create_hypertable('market.ohlcv_1d', by_range('trading_date', INTERVAL '365 days'), migrate_data => true);

-- Columnstore (compression): segment by symbol (every query filters or groups by it, and per-symbol runs
-- compress well: prices move by tick steps), ordered by time within a segment.
ALTER TABLE market.raw_ticks SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'symbol',
    timescaledb.compress_orderby = 'ts, seq'
);
ALTER TABLE market.ohlcv_1m SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'symbol',
    timescaledb.compress_orderby = 'ts'
);
ALTER TABLE market.ohlcv_1d SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'symbol',
    timescaledb.compress_orderby = 'trading_date'
);

-- Compress once a chunk is unlikely to be rewritten: vendors correct ticks within days, bars are rebuilt
-- from ticks. Re-running an old partition still works (DML on compressed chunks), only slower.
SELECT add_compression_policy('market.raw_ticks', INTERVAL '7 days');
SELECT add_compression_policy('market.ohlcv_1m', INTERVAL '30 days');
SELECT add_compression_policy('market.ohlcv_1d', INTERVAL '730 days');
