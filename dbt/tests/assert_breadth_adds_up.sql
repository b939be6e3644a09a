-- Every bar is counted exactly once as advancer, decliner, unchanged or without reference.
select *
from {{ ref('mart_daily_market_summary') }}
where advancers + decliners + unchanged + without_reference <> symbols_with_bar
