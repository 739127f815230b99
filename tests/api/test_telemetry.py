"""LLM counters are reported per tenant; only admins reset them, and only their own tenant's."""

from __future__ import annotations

from fastapi.testclient import TestClient

from autonomos_pipeline.dcl.llm import get_telemetry
from tests.utils.api import add_user, register

STATS = "/api/v1/dcl/llm_stats"
RESET = "/api/v1/dcl/reset_llm_stats"


def test_counters_are_per_tenant_and_resettable_by_admins(client: TestClient) -> None:
    a = register(client)
    b = register(client)
    telemetry = get_telemetry()
    telemetry.record_call(str(a.tenant_id), tokens=120)
    telemetry.record_call(str(a.tenant_id), tokens=30)
    telemetry.record_saved(str(a.tenant_id), 2)
    telemetry.record_call(str(b.tenant_id), tokens=7)

    assert client.get(STATS, headers=a.headers).json() == {"calls": 2, "tokens": 150, "calls_saved": 2}
    assert client.get(STATS, headers=b.headers).json() == {"calls": 1, "tokens": 7, "calls_saved": 0}

    member = add_user(client, a, "member")
    assert client.get(STATS, headers=member.headers).status_code == 200
    assert client.post(RESET, headers=member.headers).status_code == 403

    reset = client.post(RESET, headers=a.headers)
    assert reset.status_code == 200 and reset.json() == {"calls": 0, "tokens": 0, "calls_saved": 0}
    assert client.get(STATS, headers=a.headers).json()["calls"] == 0
    assert client.get(STATS, headers=b.headers).json() == {"calls": 1, "tokens": 7, "calls_saved": 0}
