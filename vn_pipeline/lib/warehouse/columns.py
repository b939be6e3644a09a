"""Column layouts of the market tables (see lib/warehouse/sql): the one list every producer and reader shares."""

# The key of a daily market table's rows: one row per trading day and symbol.
ROW_KEY = ("trading_date", "symbol")
LISTINGS = ("trading_date", "symbol", "exchange", "instrument_type", "sector", "reference_price",
            "ceiling_price", "floor_price", "first_day", "shares_outstanding", "foreign_limit")  # fmt: skip
# cum_volume: the running total of the symbol's volume that day at the trade, as vendors stamp it; unique per
# (trading_date, symbol), it identifies a trade, so a duplicated one cannot be stored twice.
RAW_TICKS = ("ts", "trading_date", "symbol", "seq", "price", "volume", "side", "session", "cum_volume")
DAILY_BARS = ("trading_date", "symbol", "open", "high", "low", "close", "volume", "value")
# What vendor history adds to a daily bar (sql/015): negotiated deals apart, adjusted-series flag, repaired fields.
DAILY_BAR_EXTRAS = ("put_through_volume", "put_through_value", "adjusted", "repaired")
FOREIGN_FLOWS = ("trading_date", "symbol", "buy_volume", "sell_volume", "buy_value", "sell_value", "room_remaining")
FOREIGN_FLOW_EXTRAS = ("ownership",)  # sql/015: the foreign-held fraction, where the vendor reports it
PROPRIETARY_FLOWS = ("trading_date", "symbol", "buy_volume", "sell_volume", "buy_value", "sell_value")
OHLCV_1M = ("ts", "trading_date", "symbol", "open", "high", "low", "close", "volume", "value", "vwap",
            "trade_count", "buy_volume", "sell_volume")  # fmt: skip
OHLCV_1D = ("trading_date", "symbol", "open", "high", "low", "close", "volume", "value", "vwap", "trade_count",
            "buy_volume", "sell_volume", "ato_price", "atc_price", "source")  # fmt: skip
QUARANTINE = ("trading_date", "source_table", "symbol", "rule", "detail", "row_data")
