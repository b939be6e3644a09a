"""Vendor files behind the MarketSource protocol: the vnstock exports (``vnstock_files``), CafeF's end-of-day
history (``cafef_files``), the landing directory they are dropped in (``landing``) and the CSV toolkit they share
(``csv_text``)."""
