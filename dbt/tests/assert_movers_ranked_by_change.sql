-- gainer_rank 1 is the day's largest move and loser_rank 1 its smallest; each rank runs 1..n without a gap.
with per_day as (
    select
        trading_date,
        count(*) as n,
        max(change_pct) as best,
        min(change_pct) as worst,
        max(change_pct) filter (where gainer_rank = 1) as rank1_gain,
        min(change_pct) filter (where loser_rank = 1) as rank1_loss,
        max(gainer_rank) as max_gainer_rank,
        max(loser_rank) as max_loser_rank,
        count(distinct gainer_rank) as distinct_ranks
    from {{ ref('mart_top_movers') }}
    group by trading_date
)

select *
from per_day
where rank1_gain <> best or rank1_loss <> worst or max_gainer_rank <> n or max_loser_rank <> n or distinct_ranks <> n
