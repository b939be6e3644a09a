-- One-minute bars with kVND prices and the aggressor imbalance (share of volume initiated by buyers minus sellers).
select
    ts,
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
    close / 1000.0 as close_kvnd,
    vwap / 1000.0 as vwap_kvnd,
    (buy_volume - sell_volume)::double precision / nullif(buy_volume + sell_volume, 0) as order_imbalance
from {{ source('market', 'ohlcv_1m') }}
