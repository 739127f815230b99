"""The question put to an LLM about one source field, and strict validation of its JSON answer."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from autonomos_pipeline.dcl.llm.base import LLMChoice
from autonomos_pipeline.dcl.llm.exceptions import InvalidAnswerError

MAX_CANDIDATES = 5
MAX_SAMPLES = 5
MAX_SAMPLE_CHARS = 80
MAX_REASON_CHARS = 500
NONE_OPTION = "none"

SYSTEM_PROMPT = (
    "You map one column of a business system's table (CRM, spreadsheet, database) onto a canonical data model. "
    "You are given the target entity, the source field's name, inferred type and sample values, and a short list "
    "of candidate canonical fields. Pick the candidate that means the same thing as the source field, or "
    f'"{NONE_OPTION}" when no candidate does. Answer with exactly one JSON object and nothing else: '
    '{"canonical_field": <one candidate name exactly as given, or null for none>, '
    '"confidence": <number from 0 to 1: the probability that your choice is right>, '
    '"reason": <one short sentence>}'
)


class LLMAnswer(BaseModel):
    """The JSON object the model must answer with."""

    model_config = ConfigDict(extra="ignore")

    canonical_field: str | None
    confidence: float = Field(ge=0.0, le=1.0)
    reason: str = ""


def offered_candidates(candidates: list[str]) -> list[str]:
    """The candidates actually offered: unique, non-empty, without "none", at most MAX_CANDIDATES in given order."""
    offered: list[str] = []
    for candidate in candidates:
        name = candidate.strip()
        if name and name.lower() != NONE_OPTION and name not in offered:
            offered.append(name)
    return offered[:MAX_CANDIDATES]


def build_user_prompt(entity: str, field_profile: dict[str, Any], candidates: list[str]) -> str:
    """The user message: entity, field profile (name, type, a few samples) and the options, as JSON."""
    question = {
        "entity": entity,
        "source_field": _describe_field(field_profile),
        "candidates": [*candidates, NONE_OPTION],
    }
    return json.dumps(question, ensure_ascii=False, default=str)


def parse_answer(text: str | None, candidates: list[str]) -> LLMChoice:
    """Validate the model's answer; raise InvalidAnswerError for malformed JSON or a field outside candidates."""
    if not text:
        raise InvalidAnswerError("empty answer")
    try:
        answer = LLMAnswer.model_validate_json(text)
    except ValidationError as exc:
        raise InvalidAnswerError(f"answer is not the expected JSON object ({exc.error_count()} errors)") from exc
    field = (answer.canonical_field or "").strip()
    if field.lower() in ("", NONE_OPTION, "null"):
        return LLMChoice(canonical_field=None, confidence=answer.confidence, reason=_short(answer.reason))
    if field not in candidates:
        raise InvalidAnswerError(f"answer {field[:60]!r} is not one of the offered candidates")
    return LLMChoice(canonical_field=field, confidence=answer.confidence, reason=_short(answer.reason))


def _describe_field(profile: dict[str, Any]) -> dict[str, Any]:
    """Name, type and a few truncated sample values, accepting the engine's common key spellings."""
    name = profile.get("name") or profile.get("source_field") or profile.get("path")
    field_type = profile.get("type") or profile.get("inferred_type") or profile.get("data_type")
    samples = profile.get("samples") or profile.get("sample_values") or []
    return {
        "name": str(name) if name is not None else None,
        "type": str(field_type) if field_type is not None else None,
        "sample_values": [str(value)[:MAX_SAMPLE_CHARS] for value in list(samples)[:MAX_SAMPLES]],
    }


def _short(reason: str) -> str:
    return reason.strip()[:MAX_REASON_CHARS]
