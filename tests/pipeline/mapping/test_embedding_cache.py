"""Embeddings of constant texts (the canonical model's aliases) are computed by a deployment's first pipeline process
only; an embedder without keep_constants (the API's read-only suggestions) reads them but never writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from autonomos_pipeline.dcl.mapping import SentenceTransformerEmbedder
from autonomos_pipeline.dcl.mappings import mapping_engine
from autonomos_pipeline.dcl.settings import get_settings
from autonomos_pipeline.dcl.store import get_engine
from tests.utils.stores import Store

TEXTS = ["annual revenue", "billing country", "Account Name"]


def _cached_files() -> list[Path]:
    return sorted((get_settings().data_dir / "cache" / "embeddings").glob("*"))


def _refusing(embedder: SentenceTransformerEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the model refuse to encode: whatever comes back must come from the cache."""

    def refuse(texts: list[str]) -> np.ndarray:
        raise AssertionError(f"encoded {texts} again")

    monkeypatch.setattr(embedder, "encode", refuse)


@pytest.fixture
def keeper(embedder: SentenceTransformerEmbedder) -> SentenceTransformerEmbedder:
    """A pipeline's embedder (the session's model stays loaded)."""
    return SentenceTransformerEmbedder(keep_constants=True)


def test_a_later_process_reads_the_vectors_instead_of_encoding(
    keeper: SentenceTransformerEmbedder, embedder: SentenceTransformerEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = keeper.encode_constant(TEXTS)
    assert np.array_equal(first, embedder.encode(TEXTS)), "the same rows encode() gives"
    assert len(_cached_files()) == 1

    later = SentenceTransformerEmbedder()  # another process's embedder (read-only: the API's) over the same dir
    _refusing(later, monkeypatch)
    assert np.array_equal(later.encode_constant(TEXTS), first)


def test_other_texts_are_encoded_and_kept_apart(keeper: SentenceTransformerEmbedder) -> None:
    keeper.encode_constant(TEXTS)
    changed = [*TEXTS[:-1], "Account Title"]
    assert np.array_equal(keeper.encode_constant(changed), keeper.encode(changed))
    assert len(_cached_files()) == 2


def test_an_unreadable_cache_file_is_computed_again(
    keeper: SentenceTransformerEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = keeper.encode_constant(TEXTS)
    (cached,) = _cached_files()
    for broken in (b"", b"not an array", expected.tobytes()[:-4], expected.tobytes() + b"more"):
        cached.write_bytes(broken)  # empty (a crash), garbage, truncated, too long
        assert np.array_equal(keeper.encode_constant(TEXTS), expected)
    _refusing(keeper, monkeypatch)
    assert np.array_equal(keeper.encode_constant(TEXTS), expected), "rewritten whole"


def test_a_failed_write_leaves_no_file(keeper: SentenceTransformerEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.fsync", full)
    assert np.array_equal(keeper.encode_constant(TEXTS), keeper.encode(TEXTS)), "the rows all the same"
    assert _cached_files() == []


def test_a_read_only_embedder_writes_nothing(embedder: SentenceTransformerEmbedder) -> None:
    assert np.array_equal(embedder.encode_constant(TEXTS), embedder.encode(TEXTS))
    assert _cached_files() == [], "the API's suggestions leave the data dir as it was"


def test_the_pipeline_engine_keeps_them(embedder: SentenceTransformerEmbedder, sqlite_store: Store) -> None:
    engine = mapping_engine(get_engine(sqlite_store.app_url))
    engine.embedder.encode_constant(TEXTS)
    assert len(_cached_files()) == 1
