"""Market data built from the sources: minute and daily bars from ticks, and the rules ticks and bars must meet."""
