"""Parsers for what lands in the landing zone: chat exports and webhook bodies. No Dagster here."""
