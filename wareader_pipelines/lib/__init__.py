"""Shared floor under the stages: partitions, freshness, column contracts, metadata and check helpers."""
