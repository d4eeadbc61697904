"""Settings the pure pipeline logic needs, gathered in one resource so the UI shows them."""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from wareader_pipelines.nlp.pseudonyms import Pseudonymizer
from wareader_pipelines.parsing.export_limits import (
    DEFAULT_MAX_COMPRESSION_RATIO,
    DEFAULT_MAX_TEXT_BYTES,
    ExportLimits,
)


class PipelineSettings(ConfigurableResource):
    """How exports are read, which languages to expect, and the pseudonym key."""

    export_timezone: str = Field(
        default="UTC", description="IANA zone of the local times in chat exports."
    )
    export_date_orders: dict[str, str] = Field(
        default_factory=dict,
        description='Per-export date order overrides: {"exports/chat.txt": "DMY"}.',
    )
    languages: list[str] = Field(
        default_factory=list,
        description="ISO 639-1 codes the deployment expects; empty means any language.",
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
    pseudonym_key: str = Field(description="Secret key of sender and conversation pseudonyms.")
    cache_dir: str = Field(description="Folder for parsed-export caches.")
    export_workers: int | None = Field(
        default=None,
        description=(
            "Processes that parse chat exports while ingestion reads the webhook bodies; "
            "0 parses them in the ingestion process itself. Default: one less than the CPUs."
        ),
    )

    def export_limits(self) -> ExportLimits:
        """The caps that bound what parsing one export can cost."""
        return ExportLimits(
            max_text_bytes=self.export_max_text_bytes,
            max_compression_ratio=self.export_max_compression_ratio,
        )

    def pseudonyms(self) -> Pseudonymizer:
        """The keyed pseudonymizer for this deployment."""
        return Pseudonymizer(self.pseudonym_key)
