"""The optional LLM advisor: used only in the review band, capped, and never able to crash a suggestion."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from autonomos_pipeline.dcl.mapping import LLMChoice, MappingEngine, NumpyMemory
from schemas.source_schema import SourceSchema

DOUBTFUL = [("Name", ["Acme", "Globex"]), ("Reach", ["+49 30 1234567", "+1 555 123 4567"]), ("Zone", ["EMEA", "APAC"])]


class _Raising:
    calls = 0

    def choose(self, **_: Any) -> LLMChoice | None:
        self.calls += 1
        raise RuntimeError("provider down")


class _Slow:
    def choose(self, **_: Any) -> LLMChoice | None:
        time.sleep(2)
        return LLMChoice("phone", 0.99)


class _Recording:
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def choose(
        self, *, entity: str, field_profile: dict[str, Any], candidates: list[str], tenant_id: str | None
    ) -> LLMChoice:
        self.seen.append({"field": field_profile["name"], "candidates": candidates})
        return LLMChoice(candidates[0], 1.0)


def test_raising_advisor_falls_back(embedder: Any, make_schema: Callable[..., SourceSchema]) -> None:
    schema = make_schema(*DOUBTFUL)
    # a threshold of 1.0 puts every mapped field in the review band, so the advisor is asked
    plain = MappingEngine(embedder=embedder, memory=NumpyMemory(), auto_threshold=1.0).suggest(schema, "account")
    advisor = _Raising()
    engine = MappingEngine(embedder=embedder, memory=NumpyMemory(), advisor=advisor, auto_threshold=1.0)
    advised = engine.suggest(schema, "account")
    assert advisor.calls >= 1
    assert [(f.canonical_field, f.decision) for f in advised.fields] == [
        (f.canonical_field, f.decision) for f in plain.fields
    ]


def test_slow_advisor_times_out(embedder: Any, make_schema: Callable[..., SourceSchema]) -> None:
    engine = MappingEngine(
        embedder=embedder, memory=NumpyMemory(), advisor=_Slow(), advisor_timeout=0.2, auto_threshold=1.0
    )
    start = time.perf_counter()
    result = engine.suggest(make_schema(DOUBTFUL[0]), "account")
    assert time.perf_counter() - start < 1.9
    assert result.llm_calls == 1


def test_advisor_sees_only_review_band_and_cannot_reach_auto(
    embedder: Any, make_schema: Callable[..., SourceSchema]
) -> None:
    advisor = _Recording()
    engine = MappingEngine(embedder=embedder, memory=NumpyMemory(), advisor=advisor)
    result = engine.suggest(make_schema(*DOUBTFUL), "account")
    asked = {s["field"] for s in advisor.seen}
    assert "Name" not in asked  # already auto
    assert all(len(s["candidates"]) <= 5 for s in advisor.seen)
    for f in result.fields:
        if f.source_field in asked:
            assert f.decision != "auto"
            assert f.confidence < result.auto_threshold
