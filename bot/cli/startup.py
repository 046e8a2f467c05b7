"""Getting the database and the embedding model ready before a command needs them: both at
once, each with a status line while it takes a while."""

from __future__ import annotations

import asyncio

from bot.cli.progress import Progress
from bot.service.settings import Settings
from bot.service.wiring import build_embedder, open_engine
from knowledge.database import migrate
from knowledge.embedders import Embedder


async def prepare(
    settings: Settings,
    progress: Progress,
    *,
    migrate_schema: bool | None = None,
    load_model: bool = True,
) -> Embedder:
    """Start (or join) the database while the local embedding model loads; returns the
    embedder, to be handed to the knowledge base.

    The schema is brought up to date when ``migrate_schema``; by default only the embedded
    database's, which is ours to keep current (a real one is migrated by its owner). Without
    ``load_model`` the model loads when first used instead.

    What is already running or loaded is joined, so a warm start shows nothing. Only a local
    model is warmed up: a remote one would cost a request.
    """
    embedder = build_embedder(settings)
    embedded = settings.database_url is None
    if migrate_schema is None:
        migrate_schema = embedded
    doing, done = (
        ("Starting the embedded database", "Embedded database ready")
        if embedded
        else ("Connecting to the database", "Database ready")
    )

    async def database() -> None:
        async with progress.step(doing, done), open_engine(settings) as engine:
            if migrate_schema:
                dimension = await asyncio.to_thread(lambda: embedder.dimension)
                await migrate(engine, embedding_dimension=dimension)

    async def model() -> None:
        if settings.embedder != "local" or not load_model:
            return
        async with progress.step("Loading the embedding model", "Embedding model loaded"):
            await embedder.embed(["warm up"])

    await asyncio.gather(database(), model())
    return embedder
