"""Settings: parsed from a mapping, errors name the variable, secrets never print."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError
from bot.wiring import build_embedder
from knowledge.embedders import HashingEmbedder, LocalEmbedder, OpenAIEmbedder


def test_defaults_need_no_environment() -> None:
    settings = Settings.from_env({})
    assert settings.database_url is None and settings.redis_url is None
    assert settings.embedder == "local"
    assert settings.top_k == 4
    assert "supportbot" in str(settings.home)
    assert isinstance(build_embedder(settings), LocalEmbedder)


def test_values_are_parsed_and_secrets_hidden() -> None:
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://bot:hunter2@db/kb",
            "OPENAI_API_KEY": "sk-secret",
            "SUPPORTBOT_EMBEDDER": "openai",
            "SUPPORTBOT_HOME": "/srv/bot",
            "SUPPORTBOT_TOP_K": "6",
        }
    )
    assert settings.home == Path("/srv/bot")
    assert settings.embedding_model == "text-embedding-3-small"
    assert settings.top_k == 6
    assert settings.database_url is not None
    assert settings.database_url.reveal() == "postgresql://bot:hunter2@db/kb"
    assert "hunter2" not in repr(settings) and "sk-secret" not in repr(settings)
    embedder = build_embedder(settings)
    assert isinstance(embedder, OpenAIEmbedder)
    assert embedder.dimension == 1536


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"SUPPORTBOT_EMBEDDER": "magic"}, "SUPPORTBOT_EMBEDDER must be one of local, openai"),
        ({"SUPPORTBOT_TOP_K": "0"}, "SUPPORTBOT_TOP_K must be at least 1"),
        ({"SUPPORTBOT_CHUNK_SIZE": "big"}, "SUPPORTBOT_CHUNK_SIZE must be a number"),
        ({"SUPPORTBOT_CHUNK_OVERLAP": "600"}, "SUPPORTBOT_CHUNK_OVERLAP must be less than half"),
        ({"SUPPORTBOT_MIN_SIMILARITY": "2"}, "SUPPORTBOT_MIN_SIMILARITY must be between"),
    ],
)
def test_bad_values_name_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(environ)


def test_hashing_embedder_for_tests_and_benchmarks() -> None:
    embedder = build_embedder(Settings.from_env({"SUPPORTBOT_EMBEDDER": "hashing"}))
    assert isinstance(embedder, HashingEmbedder)
