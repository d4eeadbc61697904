"""Data-quality rules for the warehouse tables, validated with Great Expectations 1.x (no Dagster)."""
