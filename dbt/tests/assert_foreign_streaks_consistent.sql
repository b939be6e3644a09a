-- The streak recurrence, checked row by row against the symbol's previous flow row: a flat day is 0; a day with the
-- previous day's direction extends its streak by one; any other day starts a new streak of ±1. Also the streak's
-- sign is the day's direction.
with checked as (
    select
        *,
        lag(direction) over (partition by symbol order by trading_date) as prev_direction,
        lag(streak_days) over (partition by symbol order by trading_date) as prev_streak
    from {{ ref('mart_foreign_flows') }}
)

select *
from checked
where direction <> sign(net_buy_value)
    or streak_days <> case
        when direction = 0 then 0
        when direction = prev_direction then prev_streak + direction
        else direction
    end
