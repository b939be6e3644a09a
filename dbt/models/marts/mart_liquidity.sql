-- Liquidity per symbol and trading day: traded value (VND) and its share of the exchange's day, turnover (shares
-- traded / shares outstanding, NULL when the source has no share count), and the 20-session average traded value
-- that position sizing and the universe filter use (over the symbol's last 20 bars, fewer at the start).
select
    b.trading_date,
    b.symbol,
    coalesce(l.exchange, 'UNKNOWN') as exchange,
    b.volume,
    b.value,
    b.value::numeric / nullif(sum(b.value) over (partition by b.trading_date, coalesce(l.exchange, 'UNKNOWN')), 0)
        as value_share,
    b.volume::numeric / l.shares_outstanding as turnover,
    avg(b.value) over (partition by b.symbol order by b.trading_date rows between 19 preceding and current row)
        as avg_value_20d,
    row_number() over (partition by b.trading_date order by b.value desc, b.symbol) as value_rank
from {{ ref('stg_market__ohlcv_1d') }} as b
left join {{ ref('stg_market__listings') }} as l
    on l.trading_date = b.trading_date and l.symbol = b.symbol
