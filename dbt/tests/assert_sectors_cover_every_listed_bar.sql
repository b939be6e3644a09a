-- Every listed symbol with a bar belongs to exactly one sector row: the sectors' members add up to the breadth
-- summary's listed bars (UNKNOWN = bars without a listing, which have no sector), and the sector's equal-weighted
-- change is the mean of its members' moves recomputed from the movers.
-- several parents: the check belongs to mart_sector_daily in the Dagster graph
{{ config(meta={'dagster': {'ref': {'name': 'mart_sector_daily'}}}) }}
with members as (
    select trading_date, sum(symbols) as symbols from {{ ref('mart_sector_daily') }} group by trading_date
),

summary as (
    select trading_date, sum(symbols_with_bar) as symbols
    from {{ ref('mart_daily_market_summary') }}
    where exchange <> 'UNKNOWN'
    group by trading_date
),

recomputed as (
    select trading_date, coalesce(sector, 'Unknown') as sector, avg(b.close::numeric / l.reference_price - 1) as mean
    from {{ ref('stg_market__ohlcv_1d') }} as b
    inner join {{ source('market', 'listings') }} as l using (trading_date, symbol)
    group by trading_date, coalesce(sector, 'Unknown')
)

select m.trading_date, m.symbols as sector_members, s.symbols as summary_bars, null as sector
from members as m
full outer join summary as s using (trading_date)
where coalesce(m.symbols, 0) <> coalesce(s.symbols, 0)
union all
select r.trading_date, null, null, r.sector
from recomputed as r
left join {{ ref('mart_sector_daily') }} as d using (trading_date, sector)
where d.change_pct is null or abs(d.change_pct - r.mean) > 1e-12
