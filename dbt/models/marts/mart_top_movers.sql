-- Every listed symbol's move on the day against its reference price, ranked, with the limit flags a VN reader
-- scans first ("trần"/"sàn": closing at the ceiling or floor). Only bars with a listing row: without a reference
-- price and a band there is no move to rank and no limit to reach.
-- The change is against the exchange's reference (previous close on HOSE/HNX, previous VWAP on UPCoM, adjusted on
-- ex-dates), not the previous bar, so a dividend does not show as a crash.
with moves as (
    select
        b.trading_date,
        b.symbol,
        l.exchange,
        coalesce(l.sector, 'Unknown') as sector,
        b.close,
        l.reference_price,
        l.ceiling_price,
        l.floor_price,
        b.volume,
        b.value,
        b.close::numeric / l.reference_price - 1 as change_pct,
        b.close >= l.ceiling_price as is_limit_up,
        b.close <= l.floor_price as is_limit_down
    from {{ ref('stg_market__ohlcv_1d') }} as b
    inner join {{ ref('stg_market__listings') }} as l
        on l.trading_date = b.trading_date and l.symbol = b.symbol
)

select
    *,
    -- ties broken by symbol so that "the top 10" is the same list on every rebuild
    row_number() over (partition by trading_date order by change_pct desc, symbol) as gainer_rank,
    row_number() over (partition by trading_date order by change_pct asc, symbol) as loser_rank
from moves
