"""The environment's settings checked before any work starts, each problem one line with its fix.

`cheap_problems` reads only the environment and the local disk, so the code location
runs it when it loads (a bad setting fails `dagster definitions validate` and shows
in the UI); `wareader doctor` adds the checks that reach a server (the warehouse, an
S3 landing zone).
"""

from __future__ import annotations

import os
import zoneinfo
from collections.abc import Mapping
from pathlib import Path

from wareader_pipelines.lib.partitions import HISTORY_START_VARIABLE, history_start
from wareader_pipelines.llm.providers import PROVIDER_DEFAULTS, PROVIDERS


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def cheap_problems(environment: Mapping[str, str] = os.environ) -> list[str]:
    """What is wrong with the configuration, judged without any network call."""
    problems = []
    zone = (environment.get("WAREADER_EXPORT_TIMEZONE") or "UTC").strip()
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        problems.append(
            f"WAREADER_EXPORT_TIMEZONE={zone!r} is not an IANA time zone: set the zone the "
            "exporting phones were in, e.g. Europe/Madrid or America/Sao_Paulo"
        )
    provider = (environment.get("WAREADER_LLM_PROVIDER") or "extractive").strip()
    if provider not in PROVIDERS:
        problems.append(
            f"WAREADER_LLM_PROVIDER={provider!r} is not a provider: use one of "
            f"{', '.join(PROVIDERS)} (extractive needs no key and no network)"
        )
    else:
        key = PROVIDER_DEFAULTS[provider].key_variable
        if key and not environment.get(key):
            problems.append(
                f"WAREADER_LLM_PROVIDER={provider} needs {key}: set it, or unset "
                "WAREADER_LLM_PROVIDER to summarize offline (extractive)"
            )
        if provider == "azure" and not environment.get("AZURE_OPENAI_ENDPOINT"):
            problems.append(
                "WAREADER_LLM_PROVIDER=azure needs AZURE_OPENAI_ENDPOINT: set it to the "
                "resource's https://<name>.openai.azure.com/ endpoint"
            )
    try:
        history_start(environment.get(HISTORY_START_VARIABLE))
    except ValueError as error:
        problems.append(str(error))
    landing = environment.get("WAREADER_LANDING_URI")
    if landing and not landing.startswith("s3://") and not Path(landing).is_dir():
        problems.append(
            f"WAREADER_LANDING_URI={landing} is not a folder: create it (with webhooks/ and "
            "exports/ inside) or point the variable at the landing zone"
        )
    return problems


def refuse_bad_configuration(environment: Mapping[str, str] = os.environ) -> None:
    """Raise one error listing every cheap problem (at code-location load)."""
    problems = cheap_problems(environment)
    if problems:
        raise ValueError(
            "wareader configuration: "
            + "; ".join(problems)
            + " (`wareader doctor` checks everything, servers included)"
        )


def server_problems(environment: Mapping[str, str] = os.environ) -> list[str]:
    """What the warehouse and an S3 landing zone say when asked, one line each."""
    problems = []
    warehouse = environment.get("WAREADER_WAREHOUSE_URL") or ""
    if is_postgres(warehouse):
        import psycopg

        try:
            psycopg.connect(warehouse, connect_timeout=5).close()
        except psycopg.Error as error:
            where = warehouse.rsplit("@", 1)[-1]
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else "no answer"
            problems.append(
                f"WAREADER_WAREHOUSE_URL: PostgreSQL at {where} refused or did not answer "
                f"({first_line}): start it, or fix the host, port, user and password"
            )
    landing = environment.get("WAREADER_LANDING_URI") or ""
    if landing.startswith("s3://"):
        import boto3
        from botocore.config import Config
        from botocore.exceptions import BotoCoreError, ClientError

        from wareader_pipelines.resources.s3 import split_s3_uri

        bucket, _ = split_s3_uri(landing)
        client = boto3.client(
            "s3",
            endpoint_url=environment.get("WAREADER_S3_ENDPOINT_URL") or None,
            config=Config(connect_timeout=5, read_timeout=5, retries={"max_attempts": 1}),
        )
        try:
            client.list_objects_v2(Bucket=bucket, MaxKeys=1)
        except (BotoCoreError, ClientError) as error:
            problems.append(
                f"WAREADER_LANDING_URI={landing}: bucket {bucket} cannot be listed ({error}): "
                "check the bucket name, AWS credentials and WAREADER_S3_ENDPOINT_URL"
            )
    return problems
