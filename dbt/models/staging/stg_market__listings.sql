-- Listings with prices also in thousands of VND (how Vietnamese readers quote them) and the band width.
select
    trading_date,
    symbol,
    exchange,
    instrument_type,
    sector,
    reference_price,
    ceiling_price,
    floor_price,
    first_day,
    shares_outstanding,
    foreign_limit,
    reference_price / 1000.0 as reference_price_kvnd,
    ceiling_price / 1000.0 as ceiling_price_kvnd,
    floor_price / 1000.0 as floor_price_kvnd
from {{ source('market', 'listings') }}
