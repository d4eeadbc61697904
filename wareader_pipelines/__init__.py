"""wareader-pipelines: a Dagster code location that turns WhatsApp conversations into analytics."""

__version__ = "0.1.0"
