-- One daily bar per (trading_date, symbol), with kVND prices and the return against the previous close.
-- market.ohlcv_1d may hold a bar from ticks and one from a vendor's daily file for the same day; the tick-built
-- bar wins because it carries raw exchange prices (vendor daily files can be adjusted for corporate actions).
with ranked as (
    select
        *,
        row_number() over (
            partition by trading_date, symbol
            order by case source when 'ticks' then 0 else 1 end
        ) as source_rank
    from {{ source('market', 'ohlcv_1d') }}
),

bars as (
    select * from ranked where source_rank = 1
)

select
    trading_date,
    symbol,
    open,
    high,
    low,
    close,
    volume,
    value,
    vwap,
    trade_count,
    buy_volume,
    sell_volume,
    ato_price,
    atc_price,
    source,
    open / 1000.0 as open_kvnd,
    high / 1000.0 as high_kvnd,
    low / 1000.0 as low_kvnd,
    close / 1000.0 as close_kvnd,
    lag(close) over (partition by symbol order by trading_date) as prev_close,
    -- previous *available* bar: a gap in the data (halt, missing file) makes this a multi-day return.
    -- Not adjusted for corporate actions: on ex-dates compare with listings.reference_price instead.
    close::numeric / nullif(lag(close) over (partition by symbol order by trading_date), 0) - 1 as daily_return
from bars
