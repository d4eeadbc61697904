"""Code versions follow the code and prompts that shape each asset's rows."""

from __future__ import annotations

import re

from wareader_pipelines.definitions import defs
from wareader_pipelines.defs.archives import assets as archives_assets
from wareader_pipelines.defs.enrichment import assets as enrichment_assets
from wareader_pipelines.defs.enrichment import emoji as emoji_assets
from wareader_pipelines.defs.enrichment import sentiment as sentiment_assets
from wareader_pipelines.defs.ingestion import assets as ingestion_assets
from wareader_pipelines.defs.media import assets as media_assets
from wareader_pipelines.defs.reports import assets as reports_assets
from wareader_pipelines.defs.summaries import assets as summaries_assets
from wareader_pipelines.lib.code_versions import code_version
from wareader_pipelines.llm import prompts
from wareader_pipelines.nlp import cleaning
from wareader_pipelines.parsing import chat_export, webhook_payload

STAGES = (
    ingestion_assets,
    enrichment_assets,
    emoji_assets,
    sentiment_assets,
    summaries_assets,
    archives_assets,
    media_assets,
    reports_assets,
)


def test_a_code_version_changes_with_any_module_or_version_string_it_is_derived_from() -> None:
    base = code_version(cleaning, prompts, prompts.PROMPT_VERSION)
    assert re.fullmatch(r"[0-9a-f]{12}", base)
    assert code_version(cleaning, prompts, prompts.PROMPT_VERSION) == base
    assert code_version(cleaning, prompts, prompts.PROMPT_VERSION + "-next") != base
    assert code_version(cleaning, chat_export, prompts.PROMPT_VERSION) != base


def test_every_python_asset_is_versioned_by_what_shapes_it() -> None:
    versions = {
        key: node.code_version
        for key, node in ((n.key, n) for n in defs().resolve_asset_graph().asset_nodes)
        if node.is_materializable and "dbt" not in (node.kinds or set())
    }
    assert versions, "no assets found"
    stage_versions = {code_version(*stage.SHAPED_BY) for stage in STAGES}
    for key, version in versions.items():
        assert version in stage_versions, f"{key.to_user_string()} has code_version {version!r}"


def test_the_links_that_matter() -> None:
    # Parser changes re-version ingestion; a new prompt version re-versions summaries and the
    # LLM sentiment; the asset modules themselves are part of their own versions.
    assert {chat_export, webhook_payload} <= set(ingestion_assets.SHAPED_BY)
    assert cleaning in enrichment_assets.SHAPED_BY
    for stage in (summaries_assets, sentiment_assets):
        assert prompts.PROMPT_VERSION in stage.SHAPED_BY and prompts in stage.SHAPED_BY
    for stage in STAGES:
        assert stage.SHAPED_BY[0] is stage
