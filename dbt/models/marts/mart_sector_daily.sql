-- Sector performance and rotation per trading day (sector from market.listings; NULL → 'Unknown').
-- change_pct is the equal-weighted mean of the members' moves against their reference prices; value_share is the
-- sector's part of the day's traded value (sums to 1 over the day's sectors). Rotation: today's rank by change and
-- the rank the sector held on its previous day (rank_change > 0 = moved up the table), and a 5-session compounded
-- change of the equal-weighted sector.
with sectors as (
    select
        trading_date,
        sector,
        count(*) as symbols,
        count(*) filter (where change_pct > 0) as advancers,
        count(*) filter (where change_pct < 0) as decliners,
        count(*) filter (where is_limit_up) as limit_up,
        count(*) filter (where is_limit_down) as limit_down,
        avg(change_pct) as change_pct,
        sum(value) as traded_value
    from {{ ref('mart_top_movers') }}
    group by trading_date, sector
),

ranked as (
    select
        *,
        traded_value::numeric / nullif(sum(traded_value) over (partition by trading_date), 0) as value_share,
        rank() over (partition by trading_date order by change_pct desc) as change_rank
    from sectors
)

select
    *,
    lag(change_rank) over (partition by sector order by trading_date) as prev_change_rank,
    lag(change_rank) over (partition by sector order by trading_date) - change_rank as rank_change,
    -- product of (1 + change) over the sector's last 5 sessions, as exp(sum(ln)): a -100% day cannot occur (the
    -- band is at most ±40% on a first day)
    exp(sum(ln(1 + change_pct)) over (
        partition by sector order by trading_date rows between 4 preceding and current row
    )) - 1 as change_5d
from ranked
