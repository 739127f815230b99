"""The learned scorer: logistic pair model, one-to-one assignment with a no-match option, calibrated confidence."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from autonomos_pipeline.dcl.mapping.features import FEATURES

PARAMS_PATH = Path(__file__).with_name("params.json")
MAX_LOG_ODDS = 12.0  # beyond this the dev set cannot tell confidences apart


@dataclass(frozen=True)
class Platt:
    """Platt scaling of a raw log-odds score: sigmoid(a * score + b)."""

    a: float = 1.0
    b: float = 0.0

    def __call__(self, score: np.ndarray | float) -> np.ndarray:
        """Calibrated probability."""
        u = np.clip(np.asarray(score, dtype=np.float64), -50.0, 50.0)
        return 1.0 / (1.0 + np.exp(-(self.a * u + self.b)))


@dataclass(frozen=True)
class ScorerParams:
    """Fitted parameters, loaded from the checked-in params.json (never fitted at run time)."""

    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray
    mapped: Platt
    unmapped: Platt
    auto_threshold: float
    llm_confidence_cap: float
    meta: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Serialise (feature names included, so a stale file is detected)."""
        return {
            "features": list(FEATURES),
            "weights": [round(float(w), 6) for w in self.weights],
            "bias": round(self.bias, 6),
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "calibration": {
                "mapped": {"a": round(self.mapped.a, 6), "b": round(self.mapped.b, 6)},
                "unmapped": {"a": round(self.unmapped.a, 6), "b": round(self.unmapped.b, 6)},
            },
            "auto_threshold": round(self.auto_threshold, 4),
            "llm_confidence_cap": round(self.llm_confidence_cap, 4),
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScorerParams:
        """Parse a params.json document."""
        if tuple(data["features"]) != FEATURES:
            raise ValueError("params.json was fitted for a different feature set; refit it")
        cal = data["calibration"]
        return cls(
            weights=np.asarray(data["weights"], dtype=np.float64),
            bias=float(data["bias"]),
            mean=np.asarray(data["mean"], dtype=np.float64),
            scale=np.asarray(data["scale"], dtype=np.float64),
            mapped=Platt(**cal["mapped"]),
            unmapped=Platt(**cal["unmapped"]),
            auto_threshold=float(data["auto_threshold"]),
            llm_confidence_cap=float(data["llm_confidence_cap"]),
            meta=dict(data.get("meta", {})),
        )


def load_params(path: Path = PARAMS_PATH) -> ScorerParams:
    """Load the checked-in fitted parameters."""
    return ScorerParams.from_json(json.loads(path.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class Decided:
    """The scorer's choice for one source field before thresholds and the LLM are applied."""

    choice: int | None  # index into the canonical fields, None = no match
    raw: float  # probability of the choice under the one-of-n-or-none model
    log_odds: float  # the same, as log-odds against every rival (computed without saturation)
    confidence: float  # calibrated
    probabilities: np.ndarray  # per canonical field, after removing fields claimed by others
    pair_logits: np.ndarray


def pair_logits(x: np.ndarray, params: ScorerParams) -> np.ndarray:
    """Logit that source field i is canonical field j, for every pair: X[n, m, f] -> [n, m]."""
    z = (x - params.mean) / params.scale
    return np.asarray(z @ params.weights + params.bias)


def assign(logits: np.ndarray) -> list[int | None]:
    """One-to-one assignment maximising the summed logits; each field may instead take no match (logit 0)."""
    n, m = logits.shape
    if n == 0:
        return []
    big = 1e6
    cost = np.full((n, m + n), big)
    cost[:, :m] = -logits
    cost[np.arange(n), m + np.arange(n)] = 0.0
    rows, cols = linear_sum_assignment(cost)
    out: list[int | None] = [None] * n
    for r, c in zip(rows, cols, strict=True):
        out[int(r)] = int(c) if c < m else None
    return out


def decide(x: np.ndarray, params: ScorerParams) -> list[Decided]:
    """Score, assign one-to-one and calibrate every source field of one table."""
    logits = pair_logits(x, params)
    choices = assign(logits)
    decided: list[Decided] = []
    for i, choice in enumerate(choices):
        taken = [c for k, c in enumerate(choices) if c is not None and k != i]
        row = np.concatenate([[0.0], logits[i]])  # column 0 is "no match" with logit 0
        if taken:
            row[np.asarray(taken) + 1] = -np.inf
        log_total = float(np.logaddexp.reduce(row))
        probs = np.exp(row[1:] - log_total)
        k = 0 if choice is None else choice + 1
        rivals = np.delete(row, k)
        log_odds = float(np.clip(row[k] - np.logaddexp.reduce(rivals), -MAX_LOG_ODDS, MAX_LOG_ODDS))
        raw = float(np.exp(row[k] - log_total))
        platt = params.mapped if choice is not None else params.unmapped
        decided.append(Decided(choice, raw, log_odds, float(platt(log_odds)), probs, logits[i]))
    return decided
