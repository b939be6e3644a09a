-- Market breadth per trading day and exchange.
-- A symbol advances/declines against that day's reference price when a listing row exists (the exchange's own
-- yardstick: previous close on HOSE/HNX, previous VWAP on UPCoM), else against the previous close.
-- Limit-up/limit-down compare the close with the listing's ceiling/floor prices (exact integer VND, no float
-- thresholds on returns). Bars without a listing row are counted under exchange 'UNKNOWN' rather than dropped.
with bars as (
    select
        b.trading_date,
        b.symbol,
        b.close,
        b.volume,
        b.value,
        coalesce(l.exchange, 'UNKNOWN') as exchange,
        coalesce(l.reference_price, b.prev_close) as reference,
        l.ceiling_price,
        l.floor_price
    from {{ ref('stg_market__ohlcv_1d') }} as b
    left join {{ ref('stg_market__listings') }} as l
        on l.trading_date = b.trading_date and l.symbol = b.symbol
)

select
    trading_date,
    exchange,
    count(*) as symbols_with_bar,
    count(*) filter (where volume > 0) as symbols_traded,
    count(*) filter (where close > reference) as advancers,
    count(*) filter (where close < reference) as decliners,
    count(*) filter (where close = reference) as unchanged,
    count(*) filter (where reference is null) as without_reference,
    count(*) filter (where ceiling_price is not null and close >= ceiling_price) as limit_up,
    count(*) filter (where floor_price is not null and close <= floor_price) as limit_down,
    sum(volume) as total_volume,
    sum(value) as total_value
from bars
group by trading_date, exchange
