-- Real vendor history (CafeF exports, vnstock daily files), issue #11.
--
-- Daily bars keep the negotiated (put-through) deals apart from the order book, say whether their prices are
-- the vendor's adjusted series (vnstock daily files) rather than quoted ones, and name the fields repaired from
-- a vendor typo (an open outside [low, high]): the raw row stays in market.quarantine, the bar stays usable.
ALTER TABLE market.daily_bars
    ADD COLUMN put_through_volume bigint CHECK (put_through_volume >= 0),
    ADD COLUMN put_through_value  bigint CHECK (put_through_value >= 0),
    ADD COLUMN adjusted           boolean NOT NULL DEFAULT false,
    ADD COLUMN repaired           text[];

-- Corporate actions read off a vendor's adjusted close: a cash dividend has no new shares (ratio 0) but VND per
-- share; an event whose kind the prices cannot tell is 'unknown'. reference_before/after carry the price cut
-- every kind adjusts by; inferred marks events derived from prices rather than announced.
ALTER TABLE market.corporate_actions
    ADD COLUMN cash_per_share bigint CHECK (cash_per_share >= 0),
    ADD COLUMN inferred       boolean NOT NULL DEFAULT false;

-- Foreign ownership as a fraction of shares outstanding, as the vendor reports it (NULL where it does not).
ALTER TABLE market.foreign_flows ADD COLUMN ownership double precision CHECK (ownership >= 0 AND ownership <= 1);

-- Proprietary (broker own-account) trading per symbol and day (CafeF GDTuDoanh.csv).
CREATE TABLE market.proprietary_flows (
    trading_date date   NOT NULL,
    symbol       text   NOT NULL,
    buy_volume   bigint NOT NULL CHECK (buy_volume >= 0),
    sell_volume  bigint NOT NULL CHECK (sell_volume >= 0),
    buy_value    bigint NOT NULL CHECK (buy_value >= 0),
    sell_value   bigint NOT NULL CHECK (sell_value >= 0),
    PRIMARY KEY (trading_date, symbol)
);
