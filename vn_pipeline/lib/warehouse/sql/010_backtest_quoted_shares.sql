-- Backtests now trade quoted prices and real shares (bonus shares credited at ex-dates), and a decision may keep a
-- name at the shares held: its order row has no target weight. Rows written before were in dividend-adjusted
-- share units; they are dropped and rebuilt by the next run of each backtest.
DELETE FROM backtest.trades;
DELETE FROM backtest.positions;
DELETE FROM backtest.orders;
DELETE FROM backtest.equity;
DELETE FROM backtest.runs;
ALTER TABLE backtest.orders ALTER COLUMN target_weight DROP NOT NULL;
COMMENT ON COLUMN backtest.orders.target_weight IS 'fraction of equity; NULL = keep the shares held';
COMMENT ON COLUMN backtest.positions.price IS 'the quoted close the position is valued at (last known)';
COMMENT ON COLUMN backtest.positions.shares IS 'real shares, bonus shares of stock dividends included';
