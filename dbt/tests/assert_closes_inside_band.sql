-- A close outside [floor, ceiling] breaks the exchange's price band (VN_MARKET.md): usually a vendor error or a
-- listing with the wrong reference price. WARN, not ERROR: real vendor files have a handful per thousand days
-- (adjusted closes, UPCoM's VWAP reference), which the market checks already quarantine or report.
{{ config(severity='warn') }}
select trading_date, symbol, exchange, floor_price, close, ceiling_price
from {{ ref('mart_top_movers') }}
where close > ceiling_price or close < floor_price
