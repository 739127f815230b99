"""Retrieval memory: approvals teach later matches, per tenant, and drive the RAG coverage check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from autonomos_pipeline.dcl.mapping import DuckDBMemory, LLMChoice, MappingEngine, NumpyMemory
from schemas.source_schema import SourceField, SourceSchema

ODD = ("Zahlungsmoral Kennzahl", ["A", "B", "C", "B"])


def test_remember_makes_an_unseen_alias_auto(
    embedder: Any, make_schema: Callable[..., SourceSchema], tmp_path: Path
) -> None:
    engine = MappingEngine(embedder=embedder, memory=DuckDBMemory(tmp_path / "m.duckdb"))
    schema = make_schema(("Name", ["Acme", "Globex"]), ("Kto-Schlüssel", ["K-10001", "K-10002", "K-10003"]))
    before = {f.source_field: f for f in engine.suggest(schema, "account", tenant_id="t1").fields}
    assert before["Kto-Schlüssel"].decision != "auto"
    engine.remember(
        tenant_id="t1", entity="account", field=SourceField(name="Kto-Schlüssel"), canonical_field="account_id"
    )
    # a new engine over the same file: the approval persisted
    again = MappingEngine(embedder=embedder, memory=DuckDBMemory(tmp_path / "m.duckdb"))
    after = {f.source_field: f for f in again.suggest(schema, "account", tenant_id="t1").fields}
    assert after["Kto-Schlüssel"].canonical_field == "account_id"
    assert after["Kto-Schlüssel"].decision == "auto"
    other = {f.source_field: f for f in again.suggest(schema, "account", tenant_id="t2").fields}
    assert other["Kto-Schlüssel"].decision != "auto"


def test_shared_memory_is_visible_to_other_tenants(embedder: Any, make_schema: Callable[..., SourceSchema]) -> None:
    engine = MappingEngine(embedder=embedder, memory=NumpyMemory(share_across_tenants=True))
    engine.remember(
        tenant_id="t1", entity="account", field=SourceField(name="Kto-Schlüssel"), canonical_field="account_id"
    )
    schema = make_schema(("Kto-Schlüssel", ["K-10001", "K-10002"]))
    assert engine.suggest(schema, "account", tenant_id="t2").fields[0].canonical_field == "account_id"


def test_remembered_rejection_keeps_a_field_unmapped(
    engine: MappingEngine, make_schema: Callable[..., SourceSchema]
) -> None:
    engine.remember(tenant_id="t1", entity="contact", field=SourceField(name="Home Phone"), canonical_field=None)
    schema = make_schema(("Home Phone", ["+49 30 1234567", "+1 555 123 4567"]), ("Last Name", ["Smith", "Ng"]))
    fields = {f.source_field: f for f in engine.suggest(schema, "contact", tenant_id="t1").fields}
    assert fields["Home Phone"].canonical_field is None
    assert fields["Home Phone"].decision == "unmapped"


class _CountingAdvisor:
    def __init__(self) -> None:
        self.calls = 0

    def choose(self, **_: Any) -> LLMChoice | None:
        self.calls += 1
        return None


def test_rag_coverage_event_and_llm_skipped(embedder: Any, make_schema: Callable[..., SourceSchema]) -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    advisor = _CountingAdvisor()
    engine = MappingEngine(
        embedder=embedder, memory=NumpyMemory(), advisor=advisor, event_sink=lambda n, p: events.append((n, p))
    )
    fields = [("Acct Ref", ["K-1", "K-2"]), ("Turnover Band", ["1-5M", "5-10M"]), ODD, ("Firm", ["Acme", "Hooli"])]
    schema = make_schema(*fields)
    first = engine.suggest(schema, "account", tenant_id="t1")
    assert not events
    assert advisor.calls == first.llm_calls and first.llm_calls >= 1
    for name, target in zip(
        ("Acct Ref", "Turnover Band", ODD[0], "Firm"), ("account_id", "annual_revenue", None, "name"), strict=True
    ):
        engine.remember(tenant_id="t1", entity="account", field=SourceField(name=name), canonical_field=target)
    calls_before = advisor.calls
    second = engine.suggest(schema, "account", tenant_id="t1")
    assert second.coverage == 1.0
    ((name, payload),) = events
    assert name == "rag_coverage_check"
    assert payload["recommendation"] == "skip_llm" and payload["coverage"] == 1.0
    assert "estimated_llm_cost_saved_usd" in payload
    assert advisor.calls == calls_before and second.llm_calls == 0
