"""Where secrets come from: the environment (default), AWS Secrets Manager, or Vault KV v2.

Every resource reads its secrets through `dagster.EnvVar`, so run config, the UI,
logs and metadata only ever show a variable's name. A secrets backend therefore
fills the process environment, once, before the code location (or the webhook
receiver) is built: `load_secrets_into_environment` reads the backend chosen by
`WAREADER_SECRETS_BACKEND` and sets the variables it holds that are not already
set (an explicitly set variable wins). Values are never logged; only names are.

- `aws`: dagster-aws's `SecretsManagerSecretsResource` fetches the secrets tagged
  `WAREADER_SECRETS_AWS_TAG` (default `wareader`) and those listed by ARN in
  `WAREADER_SECRETS_AWS_ARNS`; region, credentials and endpoint come from the usual
  `AWS_*` variables (`AWS_ENDPOINT_URL_SECRETS_MANAGER` for a local endpoint).
- `vault`: `hvac` reads one KV v2 secret, `WAREADER_VAULT_PATH` (default `wareader`)
  under the mount `WAREADER_VAULT_MOUNT` (default `secret`), at `VAULT_ADDR` with
  `VAULT_TOKEN` (or AppRole: `VAULT_ROLE_ID` + `VAULT_SECRET_ID`).

A secret named like a variable (`WA_APP_SECRET`) holding a plain string sets that
variable; a secret holding a JSON object (`{"WA_APP_SECRET": "...", ...}`, the
usual Secrets Manager layout, and always the case for a Vault secret) sets one
variable per key.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass

BACKENDS = ("env", "aws", "vault")
_VARIABLE = re.compile(r"^[A-Z][A-Z0-9_]*$")

logger = logging.getLogger(__name__)
_loaded_into_process = False  # the process environment is filled once


class SecretsUnavailable(RuntimeError):
    """The configured backend could not be read; the message names the setting to fix."""


@dataclass(frozen=True)
class SecretsSettings:
    """Which backend, and where in it the secrets are."""

    backend: str = "env"
    aws_tag: str | None = "wareader"
    aws_arns: tuple[str, ...] = ()
    vault_addr: str | None = None
    vault_mount: str = "secret"
    vault_path: str = "wareader"

    @classmethod
    def from_environ(cls, env: Mapping[str, str]) -> SecretsSettings:
        backend = (env.get("WAREADER_SECRETS_BACKEND") or "env").strip().lower()
        if backend not in BACKENDS:
            raise SecretsUnavailable(
                f"WAREADER_SECRETS_BACKEND is {backend!r}; use one of {', '.join(BACKENDS)}"
            )
        return cls(
            backend=backend,
            aws_tag=env.get("WAREADER_SECRETS_AWS_TAG", "wareader") or None,
            aws_arns=tuple(
                arn.strip()
                for arn in env.get("WAREADER_SECRETS_AWS_ARNS", "").split(",")
                if arn.strip()
            ),
            vault_addr=env.get("VAULT_ADDR") or None,
            vault_mount=env.get("WAREADER_VAULT_MOUNT") or "secret",
            vault_path=env.get("WAREADER_VAULT_PATH") or "wareader",
        )


def variables_of(secrets: Mapping[str, str | None]) -> dict[str, str]:
    """Environment variables from named secrets: JSON objects expand, plain strings keep
    their secret's name; names that are not variable names are skipped."""
    variables: dict[str, str] = {}
    for name, value in secrets.items():
        if value is None:
            continue
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            for key, item in parsed.items():
                if _VARIABLE.match(str(key)) and item is not None:
                    variables[str(key)] = str(item)
        elif _VARIABLE.match(name):
            variables[name] = value
        else:
            logger.warning("secret %s is neither a variable name nor a JSON object: skipped", name)
    return variables


def fetch_aws(settings: SecretsSettings, env: Mapping[str, str]) -> dict[str, str]:
    """Secrets by name from AWS Secrets Manager, through dagster-aws's resource."""
    from botocore.exceptions import BotoCoreError, ClientError
    from dagster_aws.secretsmanager import SecretsManagerSecretsResource

    if not settings.aws_tag and not settings.aws_arns:
        raise SecretsUnavailable(
            "WAREADER_SECRETS_BACKEND=aws needs WAREADER_SECRETS_AWS_TAG or WAREADER_SECRETS_AWS_ARNS"
        )
    resource = SecretsManagerSecretsResource(
        region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
        secrets_tag=settings.aws_tag,
        secrets=list(settings.aws_arns),
    )
    try:
        fetched = resource.fetch_secrets()
    except (BotoCoreError, ClientError) as error:
        raise SecretsUnavailable(
            f"could not read AWS Secrets Manager ({type(error).__name__}): check AWS_REGION, the "
            "credentials, and that the role may call secretsmanager:ListSecrets and "
            "GetSecretValue"
        ) from error
    # dagster-aws sets them in os.environ only inside its context manager: copy what it read.
    return dict(fetched)


def fetch_vault(settings: SecretsSettings, env: Mapping[str, str]) -> dict[str, str]:
    """The KV v2 secret's keys and values, through hvac."""
    import hvac
    from hvac import exceptions as vault_errors

    if not settings.vault_addr:
        raise SecretsUnavailable("WAREADER_SECRETS_BACKEND=vault needs VAULT_ADDR")
    client = hvac.Client(url=settings.vault_addr, token=env.get("VAULT_TOKEN") or None, timeout=10)
    try:
        if env.get("VAULT_ROLE_ID") and env.get("VAULT_SECRET_ID"):
            client.auth.approle.login(
                role_id=env["VAULT_ROLE_ID"], secret_id=env["VAULT_SECRET_ID"]
            )
        answer = client.secrets.kv.v2.read_secret_version(
            path=settings.vault_path,
            mount_point=settings.vault_mount,
            raise_on_deleted_version=True,
        )
    except vault_errors.Forbidden as error:
        raise SecretsUnavailable(
            f"Vault refused to read {settings.vault_mount}/{settings.vault_path}: check VAULT_TOKEN "
            "(or VAULT_ROLE_ID/VAULT_SECRET_ID) and its policy"
        ) from error
    except vault_errors.InvalidPath as error:
        raise SecretsUnavailable(
            f"Vault has no secret at {settings.vault_mount}/{settings.vault_path}: check "
            "WAREADER_VAULT_MOUNT and WAREADER_VAULT_PATH"
        ) from error
    except (vault_errors.VaultError, OSError) as error:
        raise SecretsUnavailable(
            f"could not read Vault at VAULT_ADDR ({type(error).__name__})"
        ) from error
    data = answer["data"]["data"]
    return {"vault": json.dumps(data)}


def load_secrets_into_environment(environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Fill `environ` (default: the process's) from the configured backend; returns the
    names it set. The `env` backend does nothing."""
    global _loaded_into_process
    env = os.environ if environ is None else environ
    settings = SecretsSettings.from_environ(env)
    if settings.backend == "env" or (environ is None and _loaded_into_process):
        return []
    fetched = fetch_aws(settings, env) if settings.backend == "aws" else fetch_vault(settings, env)
    variables = variables_of(fetched)
    names = sorted(name for name in variables if not env.get(name))
    for name in names:
        env[name] = variables[name]
    logger.info(
        "secrets from %s: set %s", settings.backend, ", ".join(names) if names else "nothing new"
    )
    if environ is None:
        _loaded_into_process = True
    return names
