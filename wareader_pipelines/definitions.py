"""The code location: everything under `defs/`, loaded by Dagster's own loader."""

from pathlib import Path

from dagster import Definitions, definitions, load_from_defs_folder

from wareader_pipelines.resources.secrets import load_secrets_into_environment


@definitions
def defs() -> Definitions:
    # Secrets from AWS Secrets Manager or Vault (WAREADER_SECRETS_BACKEND) become environment
    # variables before any resource binds its EnvVars; the default backend is the environment.
    load_secrets_into_environment()
    return load_from_defs_folder(path_within_project=Path(__file__).parent)
