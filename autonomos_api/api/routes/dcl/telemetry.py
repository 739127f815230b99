"""LLM usage counters of the caller's tenant (no router prefix: the issue fixes /llm_stats and /reset_llm_stats)."""

from __future__ import annotations

from fastapi import APIRouter

from autonomos_api.api.deps import AdminUser, CurrentUser, SettingsDep
from autonomos_api.models.telemetry import LLMStatsPublic

router = APIRouter(tags=["telemetry"])


def _stats(settings: SettingsDep, tenant_id: str, reset: bool = False) -> LLMStatsPublic:
    from autonomos_pipeline.dcl.llm import get_telemetry  # the LLM package is heavy; load it on first use

    telemetry = get_telemetry(settings)
    if reset:
        telemetry.reset(tenant_id)
    return LLMStatsPublic(**telemetry.stats(tenant_id))


@router.get("/llm_stats", response_model=LLMStatsPublic)
def llm_stats(user: CurrentUser, settings: SettingsDep) -> LLMStatsPublic:
    """The tenant's LLM calls, tokens and calls saved by retrieval memory."""
    return _stats(settings, str(user.tenant_id))


@router.post("/reset_llm_stats", response_model=LLMStatsPublic)
def reset_llm_stats(admin: AdminUser, settings: SettingsDep) -> LLMStatsPublic:
    """Zero the tenant's LLM counters (other tenants' counters are untouched)."""
    return _stats(settings, str(admin.tenant_id), reset=True)
