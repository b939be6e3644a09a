"""Plain-Python domain code: no Dagster imports anywhere under lib/."""
