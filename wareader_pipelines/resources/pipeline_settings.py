"""Settings the pure pipeline logic needs, gathered in one resource so the UI shows them."""

from __future__ import annotations

import json
import os

from dagster import ConfigurableResource, EnvVar
from pydantic import Field, field_validator

from wareader_pipelines.nlp.pseudonyms import Pseudonymizer
from wareader_pipelines.parsing.export_limits import (
    DEFAULT_MAX_AUTHORS,
    DEFAULT_MAX_COMPRESSION_RATIO,
    DEFAULT_MAX_TEXT_BYTES,
    DEFAULT_MAX_ZIP_BYTES,
    ExportLimits,
)


class PipelineSettings(ConfigurableResource):
    """How exports are read, which languages to expect, and the pseudonym key."""

    export_timezone: str = Field(
        default="UTC",
        description="IANA zone of the local times in chat exports (the phone's zone).",
    )
    export_timezones: dict[str, str] = Field(
        default_factory=dict,
        description='Per-export zone overrides: {"exports/chat.txt": "Europe/Berlin"}.',
    )
    export_timezones_json: str = Field(
        default="{}",
        description=(
            "More per-export zones as a JSON object (WAREADER_EXPORT_TIMEZONES, bound as an "
            "EnvVar); an export named in both takes `export_timezones`."
        ),
    )
    export_date_orders: dict[str, str] = Field(
        default_factory=dict,
        description='Per-export date order overrides: {"exports/chat.txt": "DMY"}.',
    )
    export_date_orders_json: str = Field(
        default="{}",
        description=(
            "More per-export date orders as a JSON object (WAREADER_EXPORT_DATE_ORDERS, bound "
            "as an EnvVar); an export named in both takes `export_date_orders`."
        ),
    )
    languages: list[str] = Field(
        default_factory=list,
        description="ISO 639-1 codes the deployment expects; empty means any language.",
    )
    languages_csv: str = Field(
        default="",
        description="More expected ISO 639-1 codes, comma-separated (WAREADER_LANGUAGES, an EnvVar).",
    )
    language_detector: str = Field(default="fasttext", description="fasttext or langdetect.")
    phone_region: str = Field(
        default="US", description="Region for phone numbers written without a country code."
    )
    webhook_lookback_days: int = Field(
        default=7,
        description="Days after a message's send date in which its webhook may still land.",
    )
    export_max_text_bytes: int = Field(
        default=DEFAULT_MAX_TEXT_BYTES,
        description=(
            "Largest chat text (a .txt export, or a zip's chat once inflated) that is parsed; "
            "a larger one is quarantined whole before it is read or inflated."
        ),
    )
    export_max_compression_ratio: int = Field(
        default=DEFAULT_MAX_COMPRESSION_RATIO,
        description="Largest inflated / compressed size of a zip member: above it, a zip bomb.",
    )
    export_max_zip_bytes: int = Field(
        default=DEFAULT_MAX_ZIP_BYTES,
        description="Largest export zip (media included) that is read; larger is quarantined unread.",
    )
    export_max_authors: int = Field(
        default=DEFAULT_MAX_AUTHORS,
        description=(
            "Most distinct senders one export may have; the messages of senders beyond them are "
            "quarantined (a WhatsApp group holds at most 1,024 members)."
        ),
    )
    webhook_max_bytes: int = Field(
        default=16 * 2**20,
        description=(
            "Largest webhook body file that is read; a larger one (the receiver caps bodies at "
            "4 MiB, so it came another way) is quarantined whole without being read."
        ),
    )
    pseudonym_key: str = Field(description="Secret key of sender and conversation pseudonyms.")
    cache_dir: str = Field(
        description="Folder for caches of parsed exports and of the bodies the webhook sensor parsed."
    )
    export_workers: int | None = Field(
        default=None,
        description=(
            "Worker processes beside the run's own: they parse chat exports and share the "
            "webhook bodies of windows of 28 days or more with ingestion, and share the "
            "cleaning of batches of 250,000 messages or more; 0 does all of it in the run "
            "process. Default: one less than the CPUs."
        ),
    )

    @field_validator("export_date_orders_json", "export_timezones_json", mode="before")
    @classmethod
    def _date_orders_are_a_json_object(cls, value: object) -> object:
        if isinstance(value, str) and not isinstance(value, EnvVar):  # EnvVar: once resolved
            _json_date_orders(value)
        return value

    def date_order_of(self, key: str) -> str | None:
        """The date order configured for the export under `key`, if any."""
        return self.export_date_orders.get(key) or _json_date_orders(
            self.export_date_orders_json
        ).get(key)

    def expected_languages(self) -> list[str]:
        """The languages the deployment expects (empty: any), from both settings."""
        extra = [code.strip() for code in self.languages_csv.split(",") if code.strip()]
        return [*self.languages, *(code for code in extra if code not in self.languages)]

    def export_limits(self) -> ExportLimits:
        """The caps that bound what parsing one export can cost."""
        return ExportLimits(
            max_text_bytes=self.export_max_text_bytes,
            max_compression_ratio=self.export_max_compression_ratio,
            max_zip_bytes=self.export_max_zip_bytes,
            max_authors=self.export_max_authors,
        )

    def timezone_for(self, export_key: str) -> str:
        """The zone an export's local times are read in: its override, else the default."""
        return (
            self.export_timezones.get(export_key)
            or _json_date_orders(self.export_timezones_json).get(export_key)
            or self.export_timezone
        )

    def worker_processes(self) -> int:
        """How many worker processes ingestion and cleaning may start (`export_workers`)."""
        if self.export_workers is not None:
            return max(0, self.export_workers)
        return max(0, (os.cpu_count() or 1) - 1)

    def pseudonyms(self) -> Pseudonymizer:
        """The keyed pseudonymizer for this deployment."""
        return Pseudonymizer(self.pseudonym_key)


def _json_date_orders(text: str) -> dict[str, str]:
    """`{"exports/chat.txt": "DMY", ...}` (or a zone per export) read from JSON; anything
    else is a clear error."""
    try:
        orders = json.loads(text or "{}")
    except ValueError as error:
        raise ValueError(f"export date orders are not JSON: {error}") from error
    if not isinstance(orders, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in orders.items()
    ):
        raise ValueError(
            'export date orders must be a JSON object such as {"exports/a.txt": "DMY"}'
        )
    return orders
