-- Foreign-room usage needs the cap the room is measured against: shares outstanding (point-in-time: a stock
-- dividend raises it on its ex-date, so it lives on the per-day listing row) and the foreign ownership limit as a
-- fraction (0.49 for most public companies, 0.30 for banks, up to 1.0 where lifted). Both NULL where the source
-- does not provide them (vnstock and CafeF files do not): usage is then unknown, never guessed.
--   usage = foreign-held / (foreign_limit × shares_outstanding) = 1 − room_remaining / (foreign_limit × shares_outstanding)
ALTER TABLE market.listings
    ADD COLUMN shares_outstanding bigint CHECK (shares_outstanding > 0),
    ADD COLUMN foreign_limit double precision CHECK (foreign_limit >= 0 AND foreign_limit <= 1);

-- The risk report's per-position usage of that cap (a fraction; NULL when the cap or outstanding is unknown).
ALTER TABLE risk.positions ADD COLUMN foreign_room_usage double precision;
