"""Second-stage reranking: reorder the hybrid search's candidates with a stronger judge.

One protocol, ``Reranker``. Here, ``CrossEncoderReranker``: a sentence-transformers
``CrossEncoder`` (a local folder, or a model name already in the Hugging Face cache) that reads
the question and each candidate together, loaded lazily, offline, on the CPU. The chat model's
reranker lives with the chat model, in ``bot/core/llm_reranker.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol

from knowledge.chunking import context_for
from knowledge.embedders import keep_model_hub_offline
from knowledge.errors import RerankerError
from knowledge.types import ScoredChunk


class Reranker(Protocol):
    """Reorders retrieval candidates by how well each answers the question."""

    @property
    def name(self) -> str:
        """What reranks (e.g. ``cross-encoder:<model>``), for logs and cache keys."""
        ...

    async def rerank(self, question: str, candidates: Sequence[ScoredChunk]) -> list[ScoredChunk]:
        """The same chunks, best first; nothing added, nothing dropped."""
        ...


def candidate_text(chunk: ScoredChunk) -> str:
    """What a reranker reads of a candidate: its context line (title › headings), then its text,
    as it was embedded."""
    return f"{context_for(chunk.title, chunk.heading_path)}\n\n{chunk.text}"


class CrossEncoderReranker:
    """A cross-encoder scores each (question, candidate) pair; higher scores come first."""

    # Pairs are scored in length order, so small batches pad little: 8 was 9-21% faster than
    # the library's 32 for 20 chunk-sized candidates on 2 cores (bench/README.md).
    def __init__(self, model: str, batch_size: int = 8) -> None:
        self._model_name = model
        self._batch_size = batch_size
        self._model: Any = None
        # One scoring at a time: the model already uses every core, and a fast tokenizer
        # refuses to be used from two threads at once ("Already borrowed").
        self._lock = asyncio.Lock()

    @property
    def name(self) -> str:
        return f"cross-encoder:{self._model_name}"

    async def rerank(self, question: str, candidates: Sequence[ScoredChunk]) -> list[ScoredChunk]:
        pairs = [(question, candidate_text(c)) for c in candidates]
        async with self._lock:
            # Loaded even with nothing to reorder: a bad setting shows on the first search.
            if self._model is None:
                self._model = await asyncio.to_thread(_load_cross_encoder, self._model_name)
            if len(candidates) < 2:
                return list(candidates)
            try:
                scores = await asyncio.to_thread(
                    self._model.predict,
                    pairs,
                    batch_size=self._batch_size,
                    show_progress_bar=False,
                    convert_to_numpy=True,
                )
            except Exception as e:  # torch and tokenizers raise many kinds; all mean no scores
                raise RerankerError(
                    f"the reranker {self._model_name!r} could not score: {_first_line(e)}"
                ) from e
        # A stable sort: equal scores keep the fused order.
        order = sorted(range(len(candidates)), key=lambda i: -float(scores[i]))
        return [candidates[i] for i in order]


def _load_cross_encoder(model: str) -> Any:
    # Weights come from a folder or the local cache.
    keep_model_hub_offline()
    try:
        from sentence_transformers import CrossEncoder
    except ImportError as e:
        raise RerankerError(
            "the cross-encoder reranker needs sentence-transformers: install the 'local' extra "
            "(pip install 'supportbot[local]')"
        ) from e
    try:
        return CrossEncoder(model, device="cpu", local_files_only=True)
    except Exception as e:  # the library raises many kinds; all mean the model is unusable
        raise RerankerError(
            f"the reranker model {model!r} could not be loaded (SUPPORTBOT_RERANKER): "
            f"{_first_line(e)}"
        ) from e


def _first_line(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
