"""Fitting the scorer offline: pair logistic regression, Platt calibration and the auto threshold (dev set only)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize

from autonomos_pipeline.dcl.mapping.engine import MappingEngine
from autonomos_pipeline.dcl.mapping.features import FEATURES
from autonomos_pipeline.dcl.mapping.scorer import Platt, ScorerParams, decide
from schemas.source_schema import SourceField, SourceSchema

TARGET_PRECISION = 0.98


@dataclass
class LabelledTable:
    """One development-set table with its features computed."""

    system: str
    entity: str
    schema: SourceSchema
    labels: list[str | None]
    canonical: list[str]
    features: np.ndarray

    def label_index(self, i: int) -> int | None:
        """Column of the true canonical field of source field i (None = no counterpart)."""
        label = self.labels[i]
        return self.canonical.index(label) if label is not None else None


@dataclass
class Prediction:
    """The scorer's decision on one labelled field."""

    system: str
    entity: str
    field: str
    label: str | None
    choice: str | None
    raw: float  # log-odds of the choice against every rival

    @property
    def correct(self) -> bool:
        """Right answer, with no match counted as a class."""
        return self.choice == self.label


def load_devset(folder: Path) -> list[dict[str, Any]]:
    """Read every bench/devset/data/<system>.json table."""
    tables: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.json")):
        tables.extend(json.loads(path.read_text(encoding="utf-8"))["tables"])
    return tables


def featurize(engine: MappingEngine, raw_tables: list[dict[str, Any]]) -> list[LabelledTable]:
    """Compute each table's feature tensor (no tenant, so no memory)."""
    out: list[LabelledTable] = []
    for t in raw_tables:
        fields = [SourceField(name=f["name"], sample_values=f["values"]) for f in t["fields"]]
        schema = SourceSchema(stream=f"{t['system']}.{t['entity']}", fields=fields)
        scored = engine.score(schema, t["entity"])
        labels = [f["label"] for f in t["fields"]]
        out.append(LabelledTable(t["system"], t["entity"], schema, labels, scored.fields, scored.features))
    return out


def _pairs(tables: Sequence[LabelledTable]) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for t in tables:
        n, m, f = t.features.shape
        y = np.zeros((n, m))
        for i in range(n):
            j = t.label_index(i)
            if j is not None:
                y[i, j] = 1.0
        xs.append(t.features.reshape(n * m, f))
        ys.append(y.reshape(n * m))
    return np.concatenate(xs), np.concatenate(ys)


def fit_pair_model(
    tables: Sequence[LabelledTable], l2: float = 1.0
) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """L2-regularised logistic regression over every (source field, canonical field) pair."""
    x, y = _pairs(tables)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = (x - mean) / scale

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:-1], theta[-1]
        s = z @ w + b
        p = 1.0 / (1.0 + np.exp(-s))
        nll = np.sum(np.logaddexp(0.0, s) - y * s) + 0.5 * l2 * float(w @ w)
        grad_s = p - y
        return float(nll), np.concatenate([z.T @ grad_s + l2 * w, [grad_s.sum()]])

    res = minimize(loss, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B")
    return res.x[:-1], float(res.x[-1]), mean, scale


def fit_platt(raw: np.ndarray, correct: np.ndarray) -> Platt:
    """Platt scaling of the decision's log-odds against correctness."""
    u = np.clip(raw, -50.0, 50.0)
    y = correct.astype(float)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        s = theta[0] * u + theta[1]
        p = 1.0 / (1.0 + np.exp(-s))
        g = p - y
        reg = 1e-3 * ((theta[0] - 1.0) ** 2 + theta[1] ** 2)
        return float(np.sum(np.logaddexp(0.0, s) - y * s) + reg), np.array(
            [g @ u + 2e-3 * (theta[0] - 1.0), g.sum() + 2e-3 * theta[1]]
        )

    if len(y) == 0 or y.min() == y.max():
        return Platt()
    res = minimize(loss, np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
    return Platt(float(res.x[0]), float(res.x[1]))


def choose_threshold(conf: np.ndarray, correct: np.ndarray, target: float = TARGET_PRECISION) -> float:
    """Lowest confidence t such that the decisions at or above t are right at least `target` of the time."""
    order = np.argsort(-conf)
    c, k = conf[order], correct[order].astype(float)
    precision = np.cumsum(k) / np.arange(1, len(k) + 1)
    ok = np.flatnonzero(precision >= target)
    if len(ok) == 0:
        return 0.999
    return float(min(0.999, max(0.5, c[ok[-1]] - 1e-6)))


def predict(tables: Sequence[LabelledTable], params: ScorerParams) -> list[Prediction]:
    """The scorer's decision for every field of every table."""
    out: list[Prediction] = []
    for t in tables:
        for i, d in enumerate(decide(t.features, params)):
            choice = t.canonical[d.choice] if d.choice is not None else None
            out.append(Prediction(t.system, t.entity, t.schema.fields[i].name, t.labels[i], choice, d.log_odds))
    return out


def _uncalibrated(weights: np.ndarray, bias: float, mean: np.ndarray, scale: np.ndarray) -> ScorerParams:
    return ScorerParams(weights, bias, mean, scale, Platt(), Platt(), 0.9, 0.9)


def fit_params(tables: Sequence[LabelledTable], meta: dict[str, Any] | None = None) -> ScorerParams:
    """Fit the pair model on all tables; calibrate and pick the threshold on leave-one-system-out predictions."""
    systems = sorted({t.system for t in tables})
    oof: list[Prediction] = []
    for held in systems:
        w, b, mu, sd = fit_pair_model([t for t in tables if t.system != held])
        oof.extend(predict([t for t in tables if t.system == held], _uncalibrated(w, b, mu, sd)))
    mapped = [p for p in oof if p.choice is not None]
    unmapped = [p for p in oof if p.choice is None]
    cal_m = fit_platt(np.array([p.raw for p in mapped]), np.array([p.correct for p in mapped]))
    cal_u = fit_platt(np.array([p.raw for p in unmapped]), np.array([p.correct for p in unmapped]))
    conf = np.asarray(cal_m(np.array([p.raw for p in mapped])))
    threshold = choose_threshold(conf, np.array([p.correct for p in mapped]))
    w, b, mu, sd = fit_pair_model(tables)
    info = {"systems": systems, "fields": sum(len(t.labels) for t in tables), **(meta or {})}
    return ScorerParams(w, b, mu, sd, cal_m, cal_u, threshold, max(0.5, threshold - 0.01), info)


def features_used() -> tuple[str, ...]:
    """Names of the scorer's features, in weight order."""
    return FEATURES
