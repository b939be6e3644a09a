"""The simulated market, the default source: ``market`` (MarketSimulator), its daily paths (``daily``) and the
ticks under them (``intraday``), the ``universe`` it lists, the simulated VN30 (``benchmarks``) and the
``source`` that puts it behind the MarketSource protocol."""
