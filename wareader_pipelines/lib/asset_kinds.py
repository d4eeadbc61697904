"""Kind tags that follow the deployment's configuration, not every system the code could use.

Assets name the generic roles they play (`llm`, `warehouse`); at load the roles
become the configured systems, so the UI shows `anthropic` only where
Anthropic is configured, and `postgres` instead of `duckdb` in production.
"""

from __future__ import annotations

from collections.abc import Mapping

LLM_ROLE = "llm"
WAREHOUSE_ROLE = "warehouse"

# WAREADER_LLM_PROVIDER -> the kind Dagster draws (its icon set knows these names).
_LLM_KINDS = {"openai": "openai", "anthropic": "anthropic", "azure": "azure", "local": "ollama"}


def configured_kinds(kinds: set[str], environment: Mapping[str, str]) -> set[str]:
    """`kinds` with the roles replaced by what the environment configures."""
    resolved = set(kinds)
    if LLM_ROLE in resolved:
        resolved.discard(LLM_ROLE)
        provider = (environment.get("WAREADER_LLM_PROVIDER") or "extractive").strip().lower()
        resolved.add(_LLM_KINDS.get(provider, "python"))
    # Assets (and dagster-dbt, from the parse-time profile) may say `duckdb`: also the role.
    if resolved & {WAREHOUSE_ROLE, "duckdb"}:
        resolved -= {WAREHOUSE_ROLE, "duckdb"}
        url = environment.get("WAREADER_WAREHOUSE_URL") or ""
        resolved.add("postgres" if url.startswith(("postgresql://", "postgres://")) else "duckdb")
    return resolved
