"""Every resource, bound once, from the environment (see the README's configuration table).

Each setting is bound as `EnvVar` when the variable is set, so the UI shows its
source and secrets are never copied into config; otherwise the embedded default
applies, and the sample pipeline needs nothing set at all.
"""

from __future__ import annotations

import os
from pathlib import Path

from dagster import Definitions, EnvVar, definitions
from dagster_aws.s3 import S3Resource

from wareader_pipelines.defs.analytics.project import dbt_project
from wareader_pipelines.nlp.pseudonyms import DEVELOPMENT_KEY
from wareader_pipelines.resources.blob_store import BlobStore
from wareader_pipelines.resources.dbt_cli import VenvDbtCliResource, venv_dbt
from wareader_pipelines.resources.email import EmailNotifier
from wareader_pipelines.resources.export_webhooks import ExportWebhooks
from wareader_pipelines.resources.landing_zone import LandingZone
from wareader_pipelines.resources.llm import LLMResource, api_key_variable
from wareader_pipelines.resources.pipeline_settings import PipelineSettings
from wareader_pipelines.resources.warehouse import Warehouse, WarehouseIOManager
from wareader_pipelines.resources.whatsapp import DEFAULT_API_VERSION, WhatsAppCloudAPI

_venv_dbt = str(venv_dbt())


def from_env(name: str, default: str) -> str | EnvVar:
    """`EnvVar(name)` when the variable is set, else the embedded default."""
    return EnvVar(name) if os.environ.get(name) else default


def optional_env(name: str | None) -> EnvVar | None:
    """`EnvVar(name)` when the variable is set, else None (the resource's own default)."""
    return EnvVar(name) if name and os.environ.get(name) else None


def optional_int_env(name: str) -> EnvVar | None:
    """`EnvVar.int(name)` when the variable is set, else None."""
    return EnvVar.int(name) if os.environ.get(name) else None


def data_dir() -> Path:
    """Root of the embedded defaults: landing/, warehouse.duckdb, archives/, outbox/."""
    return Path(os.environ.get("WAREADER_DATA_DIR") or "./data")


@definitions
def resources() -> Definitions:
    root = data_dir()
    warehouse_url = from_env("WAREADER_WAREHOUSE_URL", str(root / "warehouse.duckdb"))
    s3 = S3Resource(endpoint_url=from_env("WAREADER_S3_ENDPOINT_URL", "") or None)
    return Definitions(
        resources={
            "io_manager": WarehouseIOManager(url=warehouse_url),
            "warehouse": Warehouse(url=warehouse_url),
            # dbt reads the same WAREADER_WAREHOUSE_URL (and PG* variables) in dbt/profiles.yml
            "dbt": VenvDbtCliResource(
                project_dir=dbt_project,
                # The locked dbt beside this interpreter (an inactive venv still finds it),
                # not whichever dbt comes first on PATH.
                dbt_executable=_venv_dbt if Path(_venv_dbt).exists() else "dbt",
            ),
            "landing_zone": LandingZone(
                uri=from_env("WAREADER_LANDING_URI", str(root / "landing")), s3=s3
            ),
            "settings": PipelineSettings(
                export_timezone=from_env("WAREADER_EXPORT_TIMEZONE", "UTC"),
                languages_csv=from_env("WAREADER_LANGUAGES", ""),
                language_detector=from_env("WAREADER_LANGUAGE_DETECTOR", "fasttext"),
                export_date_orders_json=from_env("WAREADER_EXPORT_DATE_ORDERS", "{}"),
                export_timezones_json=from_env("WAREADER_EXPORT_TIMEZONES", "{}"),
                pseudonym_key=from_env("WAREADER_PSEUDONYM_KEY", DEVELOPMENT_KEY),
                cache_dir=str(root / "cache"),
                **{
                    field: EnvVar.int(variable)
                    for field, variable in (
                        ("export_max_text_bytes", "WAREADER_EXPORT_MAX_TEXT_BYTES"),
                        ("export_max_compression_ratio", "WAREADER_EXPORT_MAX_COMPRESSION_RATIO"),
                        ("export_max_zip_bytes", "WAREADER_EXPORT_MAX_ZIP_BYTES"),
                        ("export_max_authors", "WAREADER_EXPORT_MAX_AUTHORS"),
                        ("webhook_max_bytes", "WAREADER_WEBHOOK_FILE_MAX_BYTES"),
                        ("export_workers", "WAREADER_EXPORT_WORKERS"),
                    )
                    if os.environ.get(variable)
                },
            ),
            "blob_store": BlobStore(
                uri=from_env("WAREADER_ARCHIVE_URI", str(root / "archives")),
                storage_class=from_env("WAREADER_ARCHIVE_STORAGE_CLASS", "STANDARD"),
                download_url_expiry_hours=(
                    EnvVar.int("WAREADER_ARCHIVE_LINK_EXPIRY_HOURS")
                    if os.environ.get("WAREADER_ARCHIVE_LINK_EXPIRY_HOURS")
                    else 168
                ),
                s3=s3,
            ),
            "email": EmailNotifier(
                backend=from_env("WAREADER_EMAIL_BACKEND", "outbox"),
                sender=from_env("SMTP_FROM", "wareader <noreply@wareader.localhost>"),
                recipients_json=from_env("WAREADER_EMAIL_RECIPIENTS", "{}"),
                default_recipients=from_env("WAREADER_EMAIL_DEFAULT_RECIPIENT", ""),
                outbox_dir=str(root / "outbox"),
                smtp_host=from_env("SMTP_HOST", "localhost"),
                smtp_port=EnvVar.int("SMTP_PORT") if os.environ.get("SMTP_PORT") else 587,
                smtp_username=from_env("SMTP_USERNAME", ""),
                smtp_password=from_env("SMTP_PASSWORD", ""),
                ses_region=from_env("AWS_REGION", "us-east-1"),
                ses_endpoint_url=from_env("WAREADER_SES_ENDPOINT_URL", ""),
                sendgrid_api_key=from_env("SENDGRID_API_KEY", ""),
                sendgrid_template_id=from_env("WAREADER_SENDGRID_TEMPLATE_ID", ""),
                rate_limit_url=optional_env("WAREADER_RATE_LIMIT_URL"),
            ),
            "llm": LLMResource(
                provider=from_env("WAREADER_LLM_PROVIDER", "extractive"),
                model=optional_env("WAREADER_LLM_MODEL"),
                base_url=optional_env("WAREADER_LLM_BASE_URL"),
                # The key variable of the chosen provider (OPENAI_API_KEY, ANTHROPIC_API_KEY...).
                api_key=optional_env(api_key_variable(os.environ.get("WAREADER_LLM_PROVIDER"))),
                azure_endpoint=optional_env("AZURE_OPENAI_ENDPOINT"),
                cache_path=str(root / "cache" / "llm.sqlite"),
                rate_limit_url=optional_env("WAREADER_RATE_LIMIT_URL"),
                requests_per_day=optional_int_env("WAREADER_LLM_REQUESTS_PER_DAY"),
                tokens_per_day=optional_int_env("WAREADER_LLM_TOKENS_PER_DAY"),
            ),
            "export_webhooks": ExportWebhooks(
                urls_csv=from_env("WAREADER_EXPORT_WEBHOOK_URLS", ""),
                signing_secret=from_env("WAREADER_EXPORT_WEBHOOK_SECRET", ""),
            ),
            "whatsapp": WhatsAppCloudAPI(
                access_token=optional_env("WA_ACCESS_TOKEN"),
                phone_number_id=optional_env("WA_PHONE_NUMBER_ID"),
                api_version=from_env("WA_GRAPH_API_VERSION", DEFAULT_API_VERSION),
                rate_limit_url=optional_env("WAREADER_RATE_LIMIT_URL"),
            ),
        }
    )
