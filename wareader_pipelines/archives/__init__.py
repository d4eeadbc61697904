"""Conversation archives: the zip, its transcript and manifest, and the export-ready notice (no Dagster)."""
