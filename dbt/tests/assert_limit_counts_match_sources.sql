-- Limit-up/limit-down counts per day and exchange, recounted straight from the market tables (one bar per symbol
-- and day, the tick-built one first, as staging does) and compared with both marts that report them: the breadth
-- summary and the flags of mart_top_movers. A wrong join, a float threshold or a lost bar shows as a row here.
-- several parents: the check belongs to mart_top_movers in the Dagster graph
{{ config(meta={'dagster': {'ref': {'name': 'mart_top_movers'}}}) }}
with bars as (
    select distinct on (trading_date, symbol) trading_date, symbol, close
    from {{ source('market', 'ohlcv_1d') }}
    order by trading_date, symbol, case source when 'ticks' then 0 else 1 end
),

recount as (
    select
        l.trading_date,
        l.exchange,
        count(*) filter (where b.close >= l.ceiling_price) as limit_up,
        count(*) filter (where b.close <= l.floor_price) as limit_down
    from bars as b
    inner join {{ source('market', 'listings') }} as l using (trading_date, symbol)
    group by l.trading_date, l.exchange
),

movers as (
    select
        trading_date,
        exchange,
        count(*) filter (where is_limit_up) as limit_up,
        count(*) filter (where is_limit_down) as limit_down
    from {{ ref('mart_top_movers') }}
    group by trading_date, exchange
)

select r.trading_date, r.exchange, r.limit_up, r.limit_down, s.limit_up as summary_up, s.limit_down as summary_down,
    m.limit_up as movers_up, m.limit_down as movers_down
from recount as r
full outer join {{ ref('mart_daily_market_summary') }} as s
    on s.trading_date = r.trading_date and s.exchange = r.exchange
full outer join movers as m
    on m.trading_date = coalesce(r.trading_date, s.trading_date) and m.exchange = coalesce(r.exchange, s.exchange)
where coalesce(s.exchange, m.exchange, r.exchange) <> 'UNKNOWN'
    and (
        coalesce(r.limit_up, 0) <> coalesce(s.limit_up, 0) or coalesce(r.limit_down, 0) <> coalesce(s.limit_down, 0)
        or coalesce(r.limit_up, 0) <> coalesce(m.limit_up, 0) or coalesce(r.limit_down, 0) <> coalesce(m.limit_down, 0)
    )
