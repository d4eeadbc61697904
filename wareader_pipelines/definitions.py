"""The code location: everything under `defs/`, loaded by Dagster's own loader."""

import os
import warnings
from pathlib import Path

from dagster import (
    AssetSpec,
    Definitions,
    ExecutorDefinition,
    PreviewWarning,
    definitions,
    in_process_executor,
    load_from_defs_folder,
    multiprocess_executor,
)

from wareader_pipelines.lib.asset_kinds import configured_kinds
from wareader_pipelines.resources.configuration import refuse_bad_configuration
from wareader_pipelines.resources.secrets import load_secrets_into_environment


@definitions
def defs() -> Definitions:
    # Secrets from AWS Secrets Manager or Vault (WAREADER_SECRETS_BACKEND) become environment
    # variables before any resource binds its EnvVars; the default backend is the environment.
    load_secrets_into_environment()
    # A bad time zone, a missing provider key or landing folder fails the load, one line each.
    refuse_bad_configuration()
    loaded = load_from_defs_folder(path_within_project=Path(__file__).parent)
    # Kind tags name the configured LLM provider and warehouse, read when the location loads.
    # map_asset_specs is marked preview in Dagster 1.13; its one use here is tested.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreviewWarning)
        mapped = loaded.map_asset_specs(func=_with_configured_kinds)
    return Definitions.merge(mapped, Definitions(executor=_executor()))


def _executor() -> ExecutorDefinition:
    """Steps one after another in the run's process on DuckDB, in parallel on PostgreSQL.

    A DuckDB file takes one writing process at a time, so parallel step processes would
    only queue on its lock, each paying a process start (seconds) first.
    """
    url = os.environ.get("WAREADER_WAREHOUSE_URL") or ""
    return (
        multiprocess_executor
        if url.startswith(("postgresql://", "postgres://"))
        else in_process_executor
    )


def _with_configured_kinds(spec: AssetSpec) -> AssetSpec:
    return spec.replace_attributes(kinds=configured_kinds(set(spec.kinds), os.environ))
