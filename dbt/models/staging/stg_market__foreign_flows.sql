-- Foreign investor flows with the net positions readers ask for first.
select
    trading_date,
    symbol,
    buy_volume,
    sell_volume,
    buy_value,
    sell_value,
    room_remaining,
    buy_volume - sell_volume as net_buy_volume,
    buy_value - sell_value as net_buy_value
from {{ source('market', 'foreign_flows') }}
