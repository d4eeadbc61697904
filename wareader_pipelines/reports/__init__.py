"""Pictures people look at: per-conversation monthly reports and the account overview (no Dagster)."""
