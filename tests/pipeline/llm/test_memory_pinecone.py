"""PineconeMemory against a local server speaking Pinecone's data-plane API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pydantic import SecretStr

from autonomos_pipeline.dcl.memory_pinecone import PINECONE_API_VERSION, PineconeMemory, PineconeMemoryError
from autonomos_pipeline.dcl.settings import Settings
from tests.fakes.pinecone_server import FakePinecone

EMAIL = np.array([1.0, 0.1, 0.0, 0.0])
EMAIL_LIKE = np.array([0.9, 0.2, 0.0, 0.1])
PHONE = np.array([0.0, 0.0, 1.0, 0.2])


@pytest.fixture(scope="module")
def pinecone_server() -> Iterator[FakePinecone]:
    fake = FakePinecone(api_key="pc-test-key", dimension=4)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_pinecone(pinecone_server: FakePinecone) -> FakePinecone:
    pinecone_server.reset()
    return pinecone_server


def memory_for(fake: FakePinecone, *, shared: bool = False) -> PineconeMemory:
    return PineconeMemory(host=fake.host, api_key=fake.api_key, share_across_tenants=shared, retry_backoff_seconds=0.01)


def test_an_approved_mapping_is_found_again_by_a_similar_field(fake_pinecone: FakePinecone) -> None:
    memory = memory_for(fake_pinecone)
    memory.add("acme", "EmailAddr__c string", EMAIL, "contact", "email", "EmailAddr__c")
    memory.add("acme", "Mobile string", PHONE, "contact", "phone", "Mobile")

    hits = memory.query("acme", EMAIL_LIKE, "contact", k=2)

    assert [hit.canonical_field for hit in hits] == ["email", "phone"]
    assert hits[0].source_field == "EmailAddr__c"
    assert hits[0].tenant_id == "acme"
    assert hits[0].similarity > 0.95 > hits[1].similarity


def test_requests_carry_the_api_key_version_and_tenant_namespace(fake_pinecone: FakePinecone) -> None:
    memory = memory_for(fake_pinecone)
    memory.add("acme", "Email", EMAIL, "contact", "email", "Email")
    memory.query("acme", EMAIL, "contact", k=3)

    upsert, query = fake_pinecone.requests
    assert upsert.path == "/vectors/upsert" and upsert.body["namespace"] == "acme"
    assert query.path == "/query"
    assert query.body["namespace"] == "acme"
    assert query.body["topK"] == 3
    assert query.body["filter"] == {"entity": {"$eq": "contact"}}
    assert query.body["includeMetadata"] is True
    assert upsert.headers["api-key"] == "pc-test-key"
    assert upsert.headers["x-pinecone-api-version"] == PINECONE_API_VERSION


def test_tenants_do_not_see_each_others_memory(fake_pinecone: FakePinecone) -> None:
    memory = memory_for(fake_pinecone)
    memory.add("acme", "Email", EMAIL, "contact", "email", "Email")

    assert memory.query("globex", EMAIL, "contact") == []
    assert memory.query(None, EMAIL, "contact") == []


def test_shared_memory_lets_one_tenant_learn_from_another(fake_pinecone: FakePinecone) -> None:
    memory = memory_for(fake_pinecone, shared=True)
    memory.add("acme", "Email", EMAIL, "contact", "email", "Email")

    hits = memory.query("globex", EMAIL_LIKE, "contact")

    assert [(hit.canonical_field, hit.tenant_id) for hit in hits] == [("email", "acme")]
    assert set(fake_pinecone.namespaces) == {"shared"}


def test_memory_is_kept_per_entity(fake_pinecone: FakePinecone) -> None:
    memory = memory_for(fake_pinecone)
    memory.add("acme", "Name", EMAIL, "account", "name", "Name")

    assert memory.query("acme", EMAIL, "contact") == []
    assert [hit.canonical_field for hit in memory.query("acme", EMAIL, "account")] == ["name"]


def test_a_rejected_field_is_remembered_as_no_field(fake_pinecone: FakePinecone) -> None:
    memory = memory_for(fake_pinecone)
    memory.add("acme", "SystemModstamp", PHONE, "contact", None, "SystemModstamp")

    (hit,) = memory.query("acme", PHONE, "contact")

    assert hit.canonical_field is None
    assert hit.source_field == "SystemModstamp"


def test_re_approving_a_field_replaces_the_earlier_decision(fake_pinecone: FakePinecone) -> None:
    memory = memory_for(fake_pinecone)
    memory.add("acme", "Phone2", PHONE, "contact", "phone", "Phone2")
    memory.add("acme", "Phone2", PHONE, "contact", "mobile_phone", "Phone2")

    hits = memory.query("acme", PHONE, "contact")

    assert [hit.canonical_field for hit in hits] == ["mobile_phone"]


def test_a_failed_query_degrades_to_no_memory(fake_pinecone: FakePinecone) -> None:
    memory = memory_for(fake_pinecone)
    memory.add("acme", "Email", EMAIL, "contact", "email", "Email")
    fake_pinecone.fail_next(503, 503)

    assert memory.query("acme", EMAIL, "contact") == []
    assert len(fake_pinecone.requests) == 3, "one upsert, one query, one retry"


def test_a_transient_upsert_failure_is_retried(fake_pinecone: FakePinecone) -> None:
    memory = memory_for(fake_pinecone)
    fake_pinecone.fail_next(429)

    memory.add("acme", "Email", EMAIL, "contact", "email", "Email")

    assert [hit.canonical_field for hit in memory.query("acme", EMAIL, "contact")] == ["email"]


def test_a_failed_upsert_is_reported_not_dropped(fake_pinecone: FakePinecone) -> None:
    memory = memory_for(fake_pinecone)

    with pytest.raises(PineconeMemoryError, match="dimension"):
        memory.add("acme", "Email", np.ones(7), "contact", "email", "Email")
    with pytest.raises(PineconeMemoryError, match="401"):
        PineconeMemory(host=fake_pinecone.host, api_key="wrong").add("acme", "E", EMAIL, "contact", "email", "E")


def test_from_settings_needs_host_and_key(tmp_path: Path, fake_pinecone: FakePinecone) -> None:
    assert PineconeMemory.from_settings(Settings(data_dir=tmp_path)) is None

    memory = PineconeMemory.from_settings(
        Settings(
            data_dir=tmp_path,
            pinecone_host=fake_pinecone.host,
            pinecone_api_key=SecretStr(fake_pinecone.api_key),
            share_memory_across_tenants=True,
        )
    )

    assert memory is not None and memory.share_across_tenants
    memory.add("acme", "Email", EMAIL, "contact", "email", "Email")
    assert fake_pinecone.namespaces["shared"]
