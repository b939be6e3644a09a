-- A trade's identity is the vendor's running total of the symbol's volume at that trade (vnstock's
-- accumulated_volume; the simulator stamps the same). Two trades of one symbol and day never share it.
-- The key (trading_date, symbol, cum_volume) is held by write_partition, the one writer, which refuses a frame
-- that repeats it (the frame replaces the whole window, so that is the table's rows), and checked on the stored
-- rows by ticks_follow_vendor_running_total. A unique btree would hold it in the server, but it cut the binary
-- COPY of raw_ticks from ~0.5-1.1 M to ~0.07-0.17 M rows/s here (bench/warehouse_write.py): not taken.
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
