"""Mapping quality on the development set, leave-one-system-out, against valentine's Coma; plus suggest latency.

Run: .venv/bin/python bench/mapping_quality.py [--no-coma]
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autonomos_pipeline.dcl.mapping import MappingEngine, NumpyMemory  # noqa: E402
from autonomos_pipeline.dcl.mapping.training import (  # noqa: E402
    LabelledTable,
    Prediction,
    featurize,
    fit_params,
    load_devset,
    predict,
)

DATA = ROOT / "bench" / "devset" / "data"
# English stop words (NLTK's list) shipped here, so valentine needs no download.
STOPWORDS = [
    "i",
    "me",
    "my",
    "myself",
    "we",
    "our",
    "ours",
    "ourselves",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
    "he",
    "him",
    "his",
    "himself",
    "she",
    "her",
    "hers",
    "herself",
    "it",
    "its",
    "itself",
    "they",
    "them",
    "their",
    "theirs",
    "themselves",
    "what",
    "which",
    "who",
    "whom",
    "this",
    "that",
    "these",
    "those",
    "am",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "have",
    "has",
    "had",
    "having",
    "do",
    "does",
    "did",
    "doing",
    "a",
    "an",
    "the",
    "and",
    "but",
    "if",
    "or",
    "because",
    "as",
    "until",
    "while",
    "of",
    "at",
    "by",
    "for",
    "with",
    "about",
    "against",
    "between",
    "into",
    "through",
    "during",
    "before",
    "after",
    "above",
    "below",
    "to",
    "from",
    "up",
    "down",
    "in",
    "out",
    "on",
    "off",
    "over",
    "under",
    "again",
    "further",
    "then",
    "once",
    "here",
    "there",
    "when",
    "where",
    "why",
    "how",
    "all",
    "any",
    "both",
    "each",
    "few",
    "more",
    "most",
    "other",
    "some",
    "such",
    "no",
    "nor",
    "not",
    "only",
    "own",
    "same",
    "so",
    "than",
    "too",
    "very",
    "s",
    "t",
    "can",
    "will",
    "just",
    "don",
    "should",
    "now",
    "d",
    "ll",
    "m",
    "o",
    "re",
    "ve",
    "y",
    "ain",
    "aren",
    "couldn",
    "didn",
    "doesn",
    "hadn",
    "hasn",
    "haven",
    "isn",
    "ma",
    "mightn",
    "mustn",
    "needn",
    "shan",
    "shouldn",
    "wasn",
    "weren",
    "won",
    "wouldn",
]


def _ece(conf: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over equal-width confidence bins."""
    if len(conf) == 0:
        return float("nan")
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            total += mask.sum() / len(conf) * abs(conf[mask].mean() - correct[mask].mean())
    return float(total)


def evaluate_engine(tables: list[LabelledTable]) -> tuple[dict[str, dict[str, float]], list[float]]:
    """Leave one system out: fit everything on the other systems, measure on the held-out one."""
    rows: dict[str, dict[str, float]] = {}
    thresholds = []
    pooled: list[tuple[Prediction, float, bool]] = []
    for held in sorted({t.system for t in tables}):
        params = fit_params([t for t in tables if t.system != held])
        thresholds.append(params.auto_threshold)
        preds = predict([t for t in tables if t.system == held], params)
        scored = []
        for p in preds:
            conf = float((params.mapped if p.choice is not None else params.unmapped)(p.raw))
            auto = p.choice is not None and conf >= params.auto_threshold
            scored.append((p, conf, auto))
        pooled.extend(scored)
        rows[held] = _metrics(scored)
    rows["ALL (pooled)"] = _metrics(pooled)
    return rows, thresholds


def _metrics(scored: list[tuple[Prediction, float, bool]]) -> dict[str, float]:
    correct = np.array([p.correct for p, _, _ in scored], dtype=float)
    conf = np.array([c for _, c, _ in scored])
    auto = [(p, a) for p, _, a in scored if a]
    mappable = [p for p, _, _ in scored if p.label is not None]
    nulls = [(p, a) for p, _, a in scored if p.label is None]
    return {
        "fields": len(scored),
        "top1": float(correct.mean()),
        "auto_precision": float(np.mean([p.correct for p, _ in auto])) if auto else float("nan"),
        "auto_coverage": len(auto) / len(scored),
        "auto_coverage_mappable": sum(1 for p, a in auto if p.label is not None) / max(1, len(mappable)),
        "ece": _ece(conf, correct),
        "no_counterpart_false_auto": sum(1 for _, a in nulls if a) / max(1, len(nulls)),
    }


def _coma_stopwords_dir() -> str:
    """An NLTK data folder holding the English stop-word corpus, written from the list above."""
    folder = Path(tempfile.mkdtemp(prefix="nltk_data_")) / "corpora" / "stopwords"
    folder.mkdir(parents=True)
    (folder / "english").write_text("\n".join(STOPWORDS) + "\n", encoding="utf-8")
    return str(folder.parents[1])


def evaluate_coma(raw_tables: list[dict[str, object]]) -> dict[str, float]:
    """Coma(use_instances=True) top-1 per system: each source column against a canonical target table."""
    os.environ["NLTK_DATA"] = _coma_stopwords_dir()
    import pandas as pd
    from valentine import valentine_match
    from valentine.algorithms import Coma

    from autonomos_pipeline.dcl.mapping.lexicon import description_text
    from schemas.canonical import canonical_fields

    hits: dict[str, list[float]] = defaultdict(list)
    for t in raw_tables:
        fields = t["fields"]  # type: ignore[index]
        n = max(len(f["values"]) for f in fields)  # type: ignore[union-attr]
        source = pd.DataFrame(
            {
                f["name"]: [str(v) if v is not None else "" for v in f["values"]] + [""] * (n - len(f["values"]))
                for f in fields
            }
        )  # type: ignore[index]
        entity = str(t["entity"])  # type: ignore[index]
        target = pd.DataFrame({c: [description_text(entity, c)] * n for c in canonical_fields(entity)})
        matches = valentine_match([source, target], Coma(use_instances=True))
        best: dict[str, tuple[str, float]] = {}
        for pair, score in dict(matches).items():
            src, dst = pair.source_column, pair.target_column
            if src not in best or score > best[src][1]:
                best[src] = (dst, score)
        for f in fields:  # type: ignore[union-attr]
            guess = best.get(f["name"], (None, 0.0))[0]
            hits[str(t["system"])].append(float(guess == f["label"]))  # type: ignore[index]
    out = {s: float(np.mean(v)) for s, v in hits.items()}
    out["ALL (pooled)"] = float(np.mean([x for v in hits.values() for x in v]))
    return out


def latency() -> tuple[float, float]:
    """Cold (new process, model load) and warm suggest time for a 30-field table."""
    code = (
        "import time,json,sys;t=time.perf_counter();"
        "from autonomos_pipeline.dcl.mapping import MappingEngine,NumpyMemory;"
        "from autonomos_pipeline.dcl.mapping.training import load_devset;"
        "from schemas.source_schema import SourceField,SourceSchema;from pathlib import Path;"
        "t0=[x for x in load_devset(Path('bench/devset/data')) if x['system']=='salesforce'];"
        "fs=[f for x in t0 for f in x['fields']][:30];"
        "s=SourceSchema(stream='s',fields=[SourceField(name=f['name']+str(i),sample_values=f['values']) for i,f in enumerate(fs)]);"  # noqa: E501
        "e=MappingEngine(memory=NumpyMemory());t=time.perf_counter();e.suggest(s,'account');cold=time.perf_counter()-t;"
        "w=[];[w.append((lambda a:(e.suggest(s,'account'),time.perf_counter()-a)[1])(time.perf_counter())) for _ in range(5)];"  # noqa: E501
        "print(json.dumps([cold, sorted(w)[2]]))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    cold, warm = (float(x) for x in out.stdout.strip().strip("[]").split(","))
    return cold, warm


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-coma", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    raw = load_devset(DATA)
    tables = featurize(MappingEngine(memory=NumpyMemory()), raw)
    rows, thresholds = evaluate_engine(tables)
    coma = {} if args.no_coma else evaluate_coma(raw)
    print(
        "| system | fields | top-1 | auto precision | auto coverage (all / mappable) | ECE "
        "| no-counterpart auto | Coma top-1 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for system, m in rows.items():
        print(
            f"| {system} | {m['fields']:.0f} | {m['top1']:.3f} | {m['auto_precision']:.3f} | "
            f"{m['auto_coverage']:.2f} / {m['auto_coverage_mappable']:.2f} | {m['ece']:.3f} | "
            f"{m['no_counterpart_false_auto']:.3f} | {coma.get(system, float('nan')):.3f} |"
        )
    print(f"\nheld-out auto thresholds: {', '.join(f'{t:.3f}' for t in thresholds)}")
    cold, warm = latency()
    print(
        f"suggest latency, 30-field table: cold {cold:.2f} s (model load + canonical embeddings), "
        f"warm {warm * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
