-- Vendor end-of-day bars as delivered (history usually comes without ticks), and the symbols that were
-- listed on a day but did not trade: the completeness check needs "not traded" recorded, not inferred.
CREATE TABLE market.daily_bars (
    trading_date date   NOT NULL,
    symbol       text   NOT NULL,
    open         bigint NOT NULL,
    high         bigint NOT NULL,
    low          bigint NOT NULL,
    close        bigint NOT NULL,
    volume       bigint NOT NULL,
    value        bigint NOT NULL,
    PRIMARY KEY (trading_date, symbol)
);

CREATE TABLE market.untraded (
    trading_date date NOT NULL,
    symbol       text NOT NULL,
    reason       text NOT NULL,
    PRIMARY KEY (trading_date, symbol)
);
