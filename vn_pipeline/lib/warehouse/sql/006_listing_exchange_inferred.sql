-- Vendor intraday files do not say which exchange a symbol trades on. When no map is given the exchange is
-- inferred from the trades (see lib/sources/landing.py) and the listing says so, so no one mistakes it for fact.
ALTER TABLE market.listings ADD COLUMN exchange_inferred boolean NOT NULL DEFAULT false;
