-- Corporate actions (the reference price is adjusted on the ex-date; features adjust prices with them) and
-- index levels (VN30 and others) that strategies and relative-strength features are measured against.
CREATE TABLE market.corporate_actions (
    trading_date     date             NOT NULL,   -- the ex-date
    symbol           text             NOT NULL,
    kind             text             NOT NULL,
    ratio            double precision NOT NULL,   -- new shares per old share (0.2 = 20% stock dividend)
    reference_before bigint           NOT NULL,
    reference_after  bigint           NOT NULL,
    PRIMARY KEY (trading_date, symbol, kind)
);

CREATE TABLE market.index_levels (
    trading_date date             NOT NULL,
    index_code   text             NOT NULL,
    open         double precision NOT NULL,
    high         double precision NOT NULL,
    low          double precision NOT NULL,
    close        double precision NOT NULL,
    PRIMARY KEY (trading_date, index_code)
);
