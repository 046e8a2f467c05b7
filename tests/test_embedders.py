"""Embedders: the OpenAI-compatible one against a loopback server speaking the real API."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from knowledge.chunking import chunk_document
from knowledge.embedders import HashingEmbedder, OpenAIEmbedder, Vectors
from knowledge.errors import EmbeddingError
from knowledge.store import PgDocumentStore
from tests.documents import policy
from tests.loopback import serve


def fake_vector(text_value: str, dimension: int) -> list[float]:
    seed = int.from_bytes(hashlib.sha256(text_value.encode()).digest()[:4])
    return [float(x) for x in np.random.default_rng(seed).normal(size=dimension)]


@pytest.fixture
async def embeddings_api() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """``POST /v1/embeddings`` as OpenAI serves it; model "broken" answers 500."""
    requests: list[dict[str, Any]] = []

    async def embeddings(request: web.Request) -> web.Response:
        body = await request.json()
        requests.append(body)
        if body["model"] == "broken":
            return web.json_response({"error": {"message": "upstream exploded"}}, status=500)
        dimension = body.get("dimensions", 8)
        data = [
            {"object": "embedding", "index": i, "embedding": fake_vector(t, dimension)}
            for i, t in enumerate(body["input"])
        ]
        data.reverse()  # the API does not promise order; the client must sort by index
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": body["model"],
                "usage": {"prompt_tokens": 1, "total_tokens": 1},
            }
        )

    app = web.Application()
    app.router.add_post("/v1/embeddings", embeddings)
    async with serve(app) as base_url:
        yield f"{base_url}/v1", requests


async def test_openai_compatible_endpoint(embeddings_api: tuple[str, list[dict[str, Any]]]) -> None:
    base_url, requests = embeddings_api
    embedder = OpenAIEmbedder(
        "my-embedder", api_key="k", base_url=base_url, dimension=8, batch_size=2
    )
    texts = ["alpha", "beta", "gamma"]
    vectors = await embedder.embed(texts)
    assert vectors.shape == (3, 8)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    expected = np.asarray(fake_vector("beta", 8), dtype=np.float32)
    assert np.allclose(vectors[1], expected / np.linalg.norm(expected), atol=1e-6)
    assert [r["input"] for r in requests] == [["alpha", "beta"], ["gamma"]]


async def test_openai_endpoint_failure_is_one_line(
    embeddings_api: tuple[str, list[dict[str, Any]]],
) -> None:
    base_url, _ = embeddings_api
    embedder = OpenAIEmbedder("broken", api_key="k", base_url=base_url, dimension=8)
    embedder._client = embedder._client.with_options(max_retries=0)
    with pytest.raises(EmbeddingError, match="the embeddings endpoint failed") as caught:
        await embedder.embed(["x"])
    assert "\n" not in str(caught.value)


def test_unknown_model_dimension_is_asked_for() -> None:
    with pytest.raises(EmbeddingError, match="SUPPORTBOT_EMBEDDING_DIMENSION"):
        OpenAIEmbedder("mystery-model", api_key=None, base_url="http://127.0.0.1:9/v1")


class FailingEmbedder(HashingEmbedder):
    async def embed(self, texts: Any) -> Vectors:
        raise EmbeddingError("the embedding model is out to lunch")


async def test_a_failed_embedding_stores_nothing(engine: AsyncEngine) -> None:
    store = PgDocumentStore(engine, FailingEmbedder())
    version = await store.corpus_version()
    document = policy()
    with pytest.raises(EmbeddingError):
        await store.upsert(document, chunk_document(document))
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM documents"))).scalar() == 0
        assert (await connection.execute(text("SELECT count(*) FROM chunks"))).scalar() == 0
    assert await store.corpus_version() == version
