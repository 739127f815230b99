"""Classify schema drift between the schema a mapping was made for and a new snapshot, with severities."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from rapidfuzz import fuzz
from scipy.optimize import linear_sum_assignment

from schemas import FieldType, SourceField, SourceSchema, required_fields

ChangeKind = Literal["added", "removed", "renamed", "type_changed", "nullability"]
Severity = Literal["critical", "high", "medium", "low"]
SEVERITY_ORDER: dict[str, int] = {"low": 0, "medium": 1, "high": 2, "critical": 3}
RENAME_MIN_SCORE = 0.45

# A change from the left type to one of the right types loses nothing (the normalisers read both).
_WIDENINGS: dict[FieldType, set[FieldType]] = {
    FieldType.INTEGER: {FieldType.NUMBER, FieldType.STRING},
    FieldType.NUMBER: {FieldType.STRING},
    FieldType.BOOLEAN: {FieldType.STRING, FieldType.INTEGER},
    FieldType.DATE: {FieldType.DATETIME, FieldType.STRING},
    FieldType.DATETIME: {FieldType.STRING},
    FieldType.UNKNOWN: set(FieldType),
}


@dataclass(frozen=True)
class FieldChange:
    """One difference between the mapped schema and the new one."""

    kind: ChangeKind
    field: str
    severity: Severity
    new_field: str | None = None
    old_type: str | None = None
    new_type: str | None = None
    mapped_to: str | None = None
    confidence: float | None = None


@dataclass
class DriftReport:
    """Every change and the overall severity; reordered columns are not drift."""

    from_fingerprint: str
    to_fingerprint: str
    changes: list[FieldChange] = field(default_factory=list)

    @property
    def is_drift(self) -> bool:
        """True when anything changed."""
        return bool(self.changes)

    @property
    def severity(self) -> Severity | None:
        """The highest severity among the changes."""
        if not self.changes:
            return None
        return max((c.severity for c in self.changes), key=lambda s: SEVERITY_ORDER[s])

    def as_json(self) -> list[dict[str, Any]]:
        """Changes as JSON-safe dicts (stored with the drift event)."""
        return [asdict(c) for c in self.changes]


def type_compatible(old: FieldType, new: FieldType) -> bool:
    """Same type, or a widening the normalisers still read correctly."""
    return old == new or new in _WIDENINGS.get(old, set())


def _tokens(name: str) -> str:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    spaced = re.sub(r"__c$|^hs_|_value$", "", spaced.replace("__c", ""))
    return " ".join(t for t in re.split(r"[^a-zA-Z0-9]+", spaced.lower()) if t)


def _value_similarity(a: SourceField, b: SourceField) -> float:
    left = {str(v) for v in a.sample_values if v is not None}
    right = {str(v) for v in b.sample_values if v is not None}
    if not left or not right:
        return 0.5
    return len(left & right) / len(left | right)


def rename_scores(removed: list[SourceField], added: list[SourceField], embed: Any | None = None) -> np.ndarray:
    """Score every (removed, added) pair by name, embedding and value similarity, in [0, 1]."""
    scores = np.zeros((len(removed), len(added)))
    if not removed or not added:
        return scores
    emb_sim = None
    if embed is not None:
        vecs = embed([_tokens(f.name) for f in removed] + [_tokens(f.name) for f in added])
        emb_sim = np.clip(vecs[: len(removed)] @ vecs[len(removed) :].T, 0.0, 1.0)
    for i, old in enumerate(removed):
        for j, new in enumerate(added):
            name = fuzz.token_set_ratio(_tokens(old.name), _tokens(new.name)) / 100.0
            values = _value_similarity(old, new)
            types = 1.0 if type_compatible(old.type, new.type) or type_compatible(new.type, old.type) else 0.0
            semantic = float(emb_sim[i, j]) if emb_sim is not None else name
            scores[i, j] = 0.35 * name + 0.30 * semantic + 0.25 * values + 0.10 * types
    return scores


def classify(
    old: SourceSchema,
    new: SourceSchema,
    *,
    mapping: dict[str, str],
    entity: str,
    embed: Any | None = None,
) -> DriftReport:
    """Compare the schema a mapping was made for (old) with a new snapshot; mapping is source -> canonical."""
    report = DriftReport(old.fingerprint, new.fingerprint)
    required = set(required_fields(entity))
    old_by, new_by = {f.name: f for f in old.fields}, {f.name: f for f in new.fields}
    removed = [f for n, f in old_by.items() if n not in new_by]
    added = [f for n, f in new_by.items() if n not in old_by]

    renamed: dict[str, tuple[SourceField, float]] = {}
    scores = rename_scores(removed, added, embed)
    if scores.size:
        rows, cols = linear_sum_assignment(-scores)
        for i, j in zip(rows, cols, strict=True):
            if scores[i, j] >= RENAME_MIN_SCORE:
                renamed[removed[i].name] = (added[j], float(scores[i, j]))
    renamed_targets = {new_f.name for new_f, _ in renamed.values()}

    for f in removed:
        target = mapping.get(f.name)
        if f.name in renamed:
            new_f, conf = renamed[f.name]
            report.changes.append(
                FieldChange("renamed", f.name, "high" if target else "medium", new_f.name, f.type.value,
                            new_f.type.value, target, round(conf, 4))
            )  # fmt: skip
        else:
            severity: Severity = "critical" if target in required else "high" if target else "medium"
            report.changes.append(FieldChange("removed", f.name, severity, old_type=f.type.value, mapped_to=target))
    for f in added:
        if f.name not in renamed_targets:
            report.changes.append(FieldChange("added", f.name, "medium", new_type=f.type.value))
    for name, old_f in old_by.items():
        now = new_by.get(name)
        if now is None:
            continue
        target = mapping.get(name)
        if old_f.type != now.type:
            if type_compatible(old_f.type, now.type):
                severity = "medium"
            else:
                severity = "critical" if target in required else "high" if target else "medium"
            report.changes.append(
                FieldChange("type_changed", name, severity, None, old_f.type.value, now.type.value, target)
            )
        elif old_f.nullable != now.nullable:
            report.changes.append(FieldChange("nullability", name, "low", mapped_to=target))
    return report
