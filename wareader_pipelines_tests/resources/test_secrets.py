"""Secrets from the environment, AWS Secrets Manager (moto server) or Vault KV v2 (a loopback
server speaking its HTTP API), chosen by configuration, and never copied into config."""

import json
import logging

import dagster as dg
import pytest

from wareader_pipelines.resources.secrets import (
    SecretsUnavailable,
    load_secrets_into_environment,
    variables_of,
)
from wareader_pipelines_tests.servers.aws import REGION, MotoServer
from wareader_pipelines_tests.servers.vault import ROLE_ID, ROOT_TOKEN, SECRET_ID, FakeVault

APP_SECRET = "meta-app-secret-from-the-vault"
TOKEN = "EAAG-access-token-from-the-vault"


def test_the_environment_backend_changes_nothing() -> None:
    env = {"WA_APP_SECRET": "x"}
    assert load_secrets_into_environment(env) == []
    assert env == {"WA_APP_SECRET": "x"}


def test_json_objects_expand_and_plain_strings_keep_their_name() -> None:
    fetched = {
        "wareader/prod": json.dumps({"WA_APP_SECRET": "a", "lowercase": "skipped"}),
        "WA_ACCESS_TOKEN": "b",
        "not a variable": "c",
    }
    assert variables_of(fetched) == {"WA_APP_SECRET": "a", "WA_ACCESS_TOKEN": "b"}


def test_an_unknown_backend_is_named() -> None:
    with pytest.raises(SecretsUnavailable, match="WAREADER_SECRETS_BACKEND"):
        load_secrets_into_environment({"WAREADER_SECRETS_BACKEND": "keepass"})


def test_secrets_manager_tagged_secrets_fill_the_environment(
    moto_server: MotoServer, aws_credentials: None, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    # botocore's own per-service endpoint variable: dagster-aws's client takes no endpoint.
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_server.endpoint_url)
    client = moto_server.client("secretsmanager")
    tag = f"wareader-{id(client)}"
    client.create_secret(
        Name=f"{tag}/pipelines",
        SecretString=json.dumps({"WA_APP_SECRET": APP_SECRET, "WA_ACCESS_TOKEN": TOKEN}),
        Tags=[{"Key": tag, "Value": "1"}],
    )
    client.create_secret(
        Name="OPENAI_API_KEY", SecretString="sk-openai", Tags=[{"Key": tag, "Value": "1"}]
    )
    client.create_secret(Name="unrelated", SecretString="nope")
    env = {
        "WAREADER_SECRETS_BACKEND": "aws",
        "WAREADER_SECRETS_AWS_TAG": tag,
        "AWS_REGION": REGION,
        "WA_ACCESS_TOKEN": "set-explicitly",
    }

    with caplog.at_level(logging.INFO):
        names = load_secrets_into_environment(env)

    assert names == ["OPENAI_API_KEY", "WA_APP_SECRET"]
    assert env["WA_APP_SECRET"] == APP_SECRET and env["OPENAI_API_KEY"] == "sk-openai"
    assert env["WA_ACCESS_TOKEN"] == "set-explicitly"  # an explicit variable wins
    assert APP_SECRET not in caplog.text and "sk-openai" not in caplog.text


def test_secrets_manager_failure_names_what_to_check(
    aws_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(SecretsUnavailable, match="AWS Secrets Manager"):
        load_secrets_into_environment({"WAREADER_SECRETS_BACKEND": "aws", "AWS_REGION": REGION})


def test_vault_kv2_secret_fills_the_environment(vault_server: FakeVault, caplog) -> None:
    vault_server.put("kv", "apps/wareader", {"WA_APP_SECRET": APP_SECRET, "WA_ACCESS_TOKEN": TOKEN})
    env = {
        "WAREADER_SECRETS_BACKEND": "vault",
        "VAULT_ADDR": vault_server.addr,
        "VAULT_TOKEN": ROOT_TOKEN,
        "WAREADER_VAULT_MOUNT": "kv",
        "WAREADER_VAULT_PATH": "apps/wareader",
    }
    with caplog.at_level(logging.INFO):
        assert load_secrets_into_environment(env) == ["WA_ACCESS_TOKEN", "WA_APP_SECRET"]
    assert env["WA_APP_SECRET"] == APP_SECRET
    assert ("GET", "/v1/kv/data/apps/wareader", ROOT_TOKEN) in vault_server.requests
    assert APP_SECRET not in caplog.text and TOKEN not in caplog.text


def test_vault_approle_login_then_read(vault_server: FakeVault) -> None:
    vault_server.put("secret", "wareader", {"WA_APP_SECRET": APP_SECRET})
    env = {
        "WAREADER_SECRETS_BACKEND": "vault",
        "VAULT_ADDR": vault_server.addr,
        "VAULT_ROLE_ID": ROLE_ID,
        "VAULT_SECRET_ID": SECRET_ID,
    }
    assert load_secrets_into_environment(env) == ["WA_APP_SECRET"]
    assert vault_server.requests[0][:2] == ("POST", "/v1/auth/approle/login")


@pytest.mark.parametrize(
    ("token", "path", "message"),
    [("wrong", "wareader", "VAULT_TOKEN"), (ROOT_TOKEN, "missing", "WAREADER_VAULT_PATH")],
)
def test_vault_errors_name_the_setting_and_not_the_token(
    vault_server: FakeVault, token: str, path: str, message: str
) -> None:
    vault_server.put("secret", "wareader", {"WA_APP_SECRET": APP_SECRET})
    env = {
        "WAREADER_SECRETS_BACKEND": "vault",
        "VAULT_ADDR": vault_server.addr,
        "VAULT_TOKEN": token,
        "WAREADER_VAULT_PATH": path,
    }
    with pytest.raises(SecretsUnavailable, match=message) as raised:
        load_secrets_into_environment(env)
    assert token not in str(raised.value)


def test_loaded_secrets_are_bound_by_name_never_by_value(
    vault_server: FakeVault, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    vault_server.put("secret", "wareader", {"WA_ACCESS_TOKEN": TOKEN})
    for name, value in {
        "WAREADER_SECRETS_BACKEND": "vault",
        "VAULT_ADDR": vault_server.addr,
        "VAULT_TOKEN": ROOT_TOKEN,
        "WAREADER_DATA_DIR": str(tmp_path),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WA_ACCESS_TOKEN", "")  # so the loaded value is removed afterwards
    monkeypatch.delenv("WA_ACCESS_TOKEN")
    monkeypatch.setattr("wareader_pipelines.resources.secrets._loaded_into_process", False)
    from wareader_pipelines.defs.resources import resources

    load_secrets_into_environment()
    whatsapp = resources().resources["whatsapp"]
    assert whatsapp.access_token == dg.EnvVar("WA_ACCESS_TOKEN")
    assert TOKEN not in json.dumps(whatsapp._get_non_default_public_field_values(), default=str)
