"""Embeddings of constant texts (the canonical model's aliases) are computed by a deployment's first process only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from autonomos_pipeline.dcl.mapping import SentenceTransformerEmbedder
from autonomos_pipeline.dcl.settings import get_settings

TEXTS = ["annual revenue", "billing country", "Account Name"]


def _cached_files() -> list[Path]:
    return sorted((get_settings().data_dir / "cache" / "embeddings").glob("*.npy"))


def _refusing(embedder: SentenceTransformerEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the model refuse to encode: whatever comes back must come from the cache."""

    def refuse(texts: list[str]) -> np.ndarray:
        raise AssertionError(f"encoded {texts} again")

    monkeypatch.setattr(embedder, "encode", refuse)


def test_a_later_process_reads_the_vectors_instead_of_encoding(
    embedder: SentenceTransformerEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = embedder.encode_constant(TEXTS)
    assert np.array_equal(first, embedder.encode(TEXTS)), "the same rows encode() gives"
    assert len(_cached_files()) == 1

    later = SentenceTransformerEmbedder()  # another process's embedder over the same data dir
    _refusing(later, monkeypatch)
    assert np.array_equal(later.encode_constant(TEXTS), first)


def test_other_texts_are_encoded_and_kept_apart(embedder: SentenceTransformerEmbedder) -> None:
    embedder.encode_constant(TEXTS)
    changed = [*TEXTS[:-1], "Account Title"]
    assert np.array_equal(embedder.encode_constant(changed), embedder.encode(changed))
    assert len(_cached_files()) == 2


def test_an_unreadable_cache_file_is_computed_again(
    embedder: SentenceTransformerEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = embedder.encode_constant(TEXTS)
    (cached,) = _cached_files()
    cached.write_bytes(b"not an array")
    assert np.array_equal(embedder.encode_constant(TEXTS), expected)
    np.save(cached, np.zeros((1, 384), dtype=np.float32))  # the wrong shape: written for other texts
    assert np.array_equal(embedder.encode_constant(TEXTS), expected)
    _refusing(embedder, monkeypatch)
    assert np.array_equal(embedder.encode_constant(TEXTS), expected), "rewritten whole"
