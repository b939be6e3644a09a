-- The point-in-time liquidity universe: per trading day, the names the model trains on and scores, ranked by
-- their mean traded value over a trailing window of trading days ending at that day's close.
CREATE TABLE features.universe (
    trading_date   date             NOT NULL,
    symbol         text             NOT NULL,
    liquidity_rank integer          NOT NULL CHECK (liquidity_rank >= 1),
    avg_value      double precision NOT NULL,  -- VND
    PRIMARY KEY (trading_date, symbol)
);
