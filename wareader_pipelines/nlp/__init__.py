"""Text processing for chat messages: language, cleaning, PII, sentiment. No Dagster here."""
