"""Benchmarks and the seeded data generator they run on (not part of the installed package)."""
