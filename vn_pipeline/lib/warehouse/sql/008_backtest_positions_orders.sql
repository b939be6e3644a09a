-- Positions and orders of each backtest, and the decision each fill pursues (so a check can prove no fill
-- precedes its signal). Earlier fills have no signal date: they are dropped and rebuilt by the next run.
DELETE FROM backtest.trades;
DELETE FROM backtest.equity;
DELETE FROM backtest.runs;
ALTER TABLE backtest.trades ADD COLUMN signal_date date NOT NULL;

CREATE TABLE backtest.positions (
    strategy     text             NOT NULL,
    trading_date date             NOT NULL,
    symbol       text             NOT NULL,
    shares       bigint           NOT NULL CHECK (shares > 0),
    price        double precision NOT NULL,  -- the close the position is valued at (adjusted, last known)
    value        double precision NOT NULL,
    weight       double precision NOT NULL,  -- value / equity
    PRIMARY KEY (strategy, trading_date, symbol)
);

CREATE TABLE backtest.orders (
    strategy      text             NOT NULL,
    signal_date   date             NOT NULL,  -- decided after this day's close
    symbol        text             NOT NULL,
    target_weight double precision NOT NULL,
    PRIMARY KEY (strategy, signal_date, symbol)
);
