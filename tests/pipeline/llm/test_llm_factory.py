"""build_advisor: no LLM unless configured with a key; a configured advisor talks to its endpoint."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from autonomos_pipeline.dcl.llm import GeminiAdvisor, LLMChoice, OpenAIAdvisor, build_advisor
from autonomos_pipeline.dcl.settings import Settings
from tests.fakes.gemini_server import FakeGemini
from tests.fakes.openai_server import FakeOpenAI, Reply

PROFILE = {"name": "Amount", "type": "number", "samples": [1200.5, 99]}


def test_no_provider_means_no_advisor(tmp_path: Path) -> None:
    assert build_advisor(Settings(data_dir=tmp_path, llm_provider="none")) is None


def test_a_provider_without_its_key_means_no_advisor(tmp_path: Path) -> None:
    assert build_advisor(Settings(data_dir=tmp_path, llm_provider="openai", openai_api_key=None)) is None
    assert build_advisor(Settings(data_dir=tmp_path, llm_provider="gemini", gemini_api_key=None)) is None


def test_openai_settings_reach_the_configured_endpoint(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    settings = Settings(
        data_dir=tmp_path,
        llm_provider="openai",
        llm_model="qwen2.5:7b",
        llm_timeout_seconds=3.0,
        openai_api_key=SecretStr(fake_openai.api_key),
        openai_base_url=fake_openai.base_url,
    )
    fake_openai.script(Reply.json({"canonical_field": "amount", "confidence": 0.88, "reason": "money"}))

    advisor = build_advisor(settings)

    assert isinstance(advisor, OpenAIAdvisor)
    choice = advisor.choose(
        entity="opportunity", field_profile=PROFILE, candidates=["amount", "probability"], tenant_id="acme"
    )
    assert choice == LLMChoice("amount", 0.88, "money")
    assert fake_openai.requests[0].body["model"] == "qwen2.5:7b"
    assert advisor.telemetry.stats("acme")["calls"] == 1


def test_gemini_settings_reach_the_configured_endpoint(tmp_path: Path, fake_gemini: FakeGemini) -> None:
    settings = Settings(
        data_dir=tmp_path,
        llm_provider="gemini",
        llm_model="gemini-fake",
        gemini_api_key=SecretStr(fake_gemini.api_key),
        gemini_base_url=fake_gemini.url,
    )
    fake_gemini.script(Reply.json({"canonical_field": "probability", "confidence": 0.55}))

    advisor = build_advisor(settings)

    assert isinstance(advisor, GeminiAdvisor)
    choice = advisor.choose(
        entity="opportunity", field_profile=PROFILE, candidates=["amount", "probability"], tenant_id=None
    )
    assert choice == LLMChoice("probability", 0.55)
    assert fake_gemini.requests[0].path == "/v1beta/models/gemini-fake:generateContent"
