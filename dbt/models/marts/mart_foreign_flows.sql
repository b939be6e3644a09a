-- Foreign flow leaders and streaks per trading day. net_buy_value > 0: foreigners were net buyers of the symbol.
-- streak_days counts the symbol's consecutive sessions (its own flow rows, in date order) with the same net
-- direction, today included: +3 = third net-buying session in a row, −2 = second net-selling one, 0 = flat day.
-- Leaders: buy_rank 1 is the day's largest net buyer by value, sell_rank 1 the largest net seller.
with flows as (
    select
        trading_date,
        symbol,
        buy_value,
        sell_value,
        net_buy_value,
        net_buy_volume,
        sign(net_buy_value)::integer as direction
    from {{ ref('stg_market__foreign_flows') }}
),

runs as (
    -- gaps and islands: a new run starts whenever the direction changes from the symbol's previous row
    select
        *,
        sum(case when direction is distinct from prev_direction then 1 else 0 end)
            over (partition by symbol order by trading_date) as run_id
    from (
        select *, lag(direction) over (partition by symbol order by trading_date) as prev_direction
        from flows
    ) as with_previous
)

select
    trading_date,
    symbol,
    buy_value,
    sell_value,
    net_buy_value,
    net_buy_volume,
    direction,
    direction * row_number() over (partition by symbol, run_id order by trading_date) as streak_days,
    row_number() over (partition by trading_date order by net_buy_value desc, symbol) as buy_rank,
    row_number() over (partition by trading_date order by net_buy_value asc, symbol) as sell_rank
from runs
