"""The real openai and google-genai clients against local fake servers: answers, failures, retries, counters."""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass

import pytest

from autonomos_pipeline.dcl.llm import ChatAdvisor, GeminiAdvisor, LLMChoice, LLMTelemetry, OpenAIAdvisor
from tests.fakes.gemini_server import FakeGemini
from tests.fakes.openai_server import FakeOpenAI, RecordedRequest, Reply, ScriptedFake

PROFILE = {"name": "EmailAddr__c", "type": "string", "samples": ["ann@acme.io", "bob@globex.com"]}
CANDIDATES = ["email", "phone", "website"]


@dataclass
class Provider:
    """One provider under test: its fake server and a way to build an advisor pointed at it."""

    name: str
    fake: ScriptedFake

    def advisor(self, telemetry: LLMTelemetry, *, timeout: float = 5.0, api_key: str | None = None) -> ChatAdvisor:
        key = api_key or self.fake.api_key
        if isinstance(self.fake, FakeOpenAI):
            return OpenAIAdvisor(
                api_key=key,
                model=self.fake.model,
                base_url=self.fake.base_url,
                timeout_seconds=timeout,
                telemetry=telemetry,
                retry_backoff_seconds=0.05,
            )
        return GeminiAdvisor(
            api_key=key,
            model=self.fake.model,
            base_url=self.fake.url,
            timeout_seconds=timeout,
            telemetry=telemetry,
            retry_backoff_seconds=0.05,
        )


@pytest.fixture(params=["openai", "gemini"])
def provider(request: pytest.FixtureRequest, fake_openai: FakeOpenAI, fake_gemini: FakeGemini) -> Provider:
    """Each behaviour test runs once per provider."""
    fake: ScriptedFake = fake_openai if request.param == "openai" else fake_gemini
    return Provider(request.param, fake)


def ask(advisor: ChatAdvisor, candidates: list[str] = CANDIDATES, tenant_id: str | None = "t1") -> LLMChoice | None:
    return advisor.choose(entity="contact", field_profile=PROFILE, candidates=candidates, tenant_id=tenant_id)


def prompt_text(provider: Provider, request: RecordedRequest) -> str:
    """The user message the advisor sent."""
    if provider.name == "openai":
        return str(request.body["messages"][-1]["content"])
    return str(request.body["contents"][0]["parts"][0]["text"])


def test_a_valid_answer_becomes_a_choice(provider: Provider, file_telemetry: LLMTelemetry) -> None:
    provider.fake.script(Reply.json({"canonical_field": "email", "confidence": 0.93, "reason": "looks like e-mail"}))

    choice = ask(provider.advisor(file_telemetry))

    assert choice == LLMChoice(canonical_field="email", confidence=0.93, reason="looks like e-mail")
    question = json.loads(prompt_text(provider, provider.fake.requests[0]))
    assert question["entity"] == "contact"
    assert question["source_field"] == {
        "name": "EmailAddr__c",
        "type": "string",
        "sample_values": ["ann@acme.io", "bob@globex.com"],
    }
    assert question["candidates"] == [*CANDIDATES, "none"]


def test_an_answer_of_none_means_no_canonical_field(provider: Provider, file_telemetry: LLMTelemetry) -> None:
    provider.fake.script(
        Reply.json({"canonical_field": None, "confidence": 0.8, "reason": "internal id"}),
        Reply.json({"canonical_field": "none", "confidence": 0.7}),
    )
    advisor = provider.advisor(file_telemetry)

    assert ask(advisor) == LLMChoice(canonical_field=None, confidence=0.8, reason="internal id")
    assert ask(advisor) == LLMChoice(canonical_field=None, confidence=0.7, reason="")


def test_the_request_asks_for_json(provider: Provider, file_telemetry: LLMTelemetry) -> None:
    provider.fake.script(Reply.json({"canonical_field": "email", "confidence": 0.9}))

    ask(provider.advisor(file_telemetry))

    request = provider.fake.requests[0]
    if provider.name == "openai":
        assert request.path == "/v1/chat/completions"
        assert request.body["model"] == provider.fake.model
        assert request.body["response_format"] == {"type": "json_object"}
        assert request.body["messages"][0]["role"] == "system"
    else:
        assert request.path == f"/v1beta/models/{provider.fake.model}:generateContent"
        assert request.body["generationConfig"]["responseMimeType"] == "application/json"
        assert "JSON" in request.body["systemInstruction"]["parts"][0]["text"]


@pytest.mark.parametrize(
    "reply",
    [
        Reply.text("Sure! The field is email."),
        Reply.text('{"canonical_field": "email", "confidence": '),
        Reply.json({"canonical_field": "mobile_phone", "confidence": 0.9}),
        Reply.json({"canonical_field": "email", "confidence": 1.7}),
        Reply.json({"confidence": 0.9}),
    ],
    ids=["prose", "truncated-json", "outside-candidates", "confidence-out-of-range", "missing-field"],
)
def test_an_invalid_answer_returns_none(provider: Provider, file_telemetry: LLMTelemetry, reply: Reply) -> None:
    provider.fake.script(reply)

    assert ask(provider.advisor(file_telemetry)) is None
    assert len(provider.fake.requests) == 1, "an invalid answer is not retried"
    assert file_telemetry.stats()["calls"] == 1, "the answered call was billed, so it is counted"


@pytest.mark.parametrize("status", [429, 500, 503])
def test_one_transient_failure_is_retried_once(provider: Provider, file_telemetry: LLMTelemetry, status: int) -> None:
    provider.fake.script(Reply.error(status), Reply.json({"canonical_field": "phone", "confidence": 0.6}))

    choice = ask(provider.advisor(file_telemetry))

    assert choice is not None and choice.canonical_field == "phone"
    assert len(provider.fake.requests) == 2


@pytest.mark.parametrize("status", [429, 500])
def test_a_persistent_failure_returns_none_after_one_retry(
    provider: Provider, file_telemetry: LLMTelemetry, status: int
) -> None:
    provider.fake.script(*[Reply.error(status)] * 5)

    assert ask(provider.advisor(file_telemetry)) is None
    assert len(provider.fake.requests) == 2, "at most one retry"
    assert file_telemetry.stats()["calls"] == 0


def test_a_rejected_api_key_is_not_retried(provider: Provider, file_telemetry: LLMTelemetry) -> None:
    provider.fake.script(Reply.json({"canonical_field": "email", "confidence": 0.9}))

    assert ask(provider.advisor(file_telemetry, api_key="wrong-key")) is None
    assert provider.fake.requests == [], "the fake refused before scripting"


def test_a_hanging_server_times_out_to_none(provider: Provider, file_telemetry: LLMTelemetry) -> None:
    provider.fake.script(Reply.hang(10), Reply.hang(10))
    advisor = provider.advisor(file_telemetry, timeout=0.5)

    started = time.monotonic()
    choice = ask(advisor)

    assert choice is None
    assert time.monotonic() - started < 3.0
    assert len(provider.fake.requests) == 1, "a timeout is not retried"


def test_an_unreachable_server_returns_none(provider: Provider, file_telemetry: LLMTelemetry) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    if isinstance(provider.fake, FakeOpenAI):
        advisor: ChatAdvisor = OpenAIAdvisor(
            api_key="k",
            base_url=f"http://127.0.0.1:{closed_port}/v1",
            telemetry=file_telemetry,
            retry_backoff_seconds=0.01,
        )
    else:
        advisor = GeminiAdvisor(
            api_key="k",
            base_url=f"http://127.0.0.1:{closed_port}",
            telemetry=file_telemetry,
            retry_backoff_seconds=0.01,
        )

    assert ask(advisor) is None


def test_at_most_five_candidates_are_offered(provider: Provider, file_telemetry: LLMTelemetry) -> None:
    provider.fake.script(Reply.json({"canonical_field": "f6", "confidence": 0.9}))
    candidates = ["f1", "f2", "none", "f2", "f3", "f4", "f5", "f6"]

    choice = ask(provider.advisor(file_telemetry), candidates=candidates)

    assert choice is None, "f6 was not offered, so it is outside the candidates"
    question = json.loads(prompt_text(provider, provider.fake.requests[0]))
    assert question["candidates"] == ["f1", "f2", "f3", "f4", "f5", "none"]


def test_no_candidates_means_no_call(provider: Provider, file_telemetry: LLMTelemetry) -> None:
    assert ask(provider.advisor(file_telemetry), candidates=[]) is None
    assert provider.fake.requests == []


def test_calls_and_tokens_are_counted_globally_and_per_tenant(
    provider: Provider, redis_telemetry: LLMTelemetry
) -> None:
    provider.fake.script(
        Reply.json({"canonical_field": "email", "confidence": 0.9}, prompt_tokens=100, completion_tokens=20),
        Reply.json({"canonical_field": "phone", "confidence": 0.9}, prompt_tokens=90, completion_tokens=10),
        Reply.error(500),
        Reply.error(500),
    )
    advisor = provider.advisor(redis_telemetry)

    ask(advisor, tenant_id="acme")
    ask(advisor, tenant_id="globex")
    ask(advisor, tenant_id="acme")  # fails twice: nothing answered, nothing counted

    assert redis_telemetry.stats() == {"calls": 2, "tokens": 220, "calls_saved": 0}
    assert redis_telemetry.stats("acme") == {"calls": 1, "tokens": 120, "calls_saved": 0}
    assert redis_telemetry.stats("globex") == {"calls": 1, "tokens": 100, "calls_saved": 0}
