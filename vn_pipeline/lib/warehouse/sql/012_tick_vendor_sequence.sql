-- A trade's identity is the vendor's running total of the symbol's volume at that trade (vnstock's
-- accumulated_volume; the simulator stamps the same). Two trades of one symbol and day never share it, so the
-- key makes a duplicated trade (a row repeated in a file, the same file landed twice) impossible to store twice.
-- ts is part of the key because a TimescaleDB hypertable's unique indexes must contain its time column.
ALTER TABLE market.raw_ticks ADD COLUMN cum_volume bigint;
UPDATE market.raw_ticks t
SET cum_volume = s.cum_volume
FROM (
    SELECT trading_date, symbol, seq,
           sum(volume) OVER (PARTITION BY trading_date, symbol ORDER BY seq) AS cum_volume
    FROM market.raw_ticks
) s
WHERE t.trading_date = s.trading_date AND t.symbol = s.symbol AND t.seq = s.seq;
ALTER TABLE market.raw_ticks ALTER COLUMN cum_volume SET NOT NULL;
ALTER TABLE market.raw_ticks ADD CONSTRAINT raw_ticks_cum_volume_covers_trade CHECK (cum_volume >= volume);
CREATE UNIQUE INDEX raw_ticks_vendor_sequence ON market.raw_ticks (trading_date, symbol, cum_volume, ts);
