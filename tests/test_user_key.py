"""The key of the hashes stored instead of user ids and questions: the setting, else a random
key generated on the first start and kept in SUPPORTBOT_HOME; never a built-in constant."""

from __future__ import annotations

import hashlib
import hmac
import logging
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.core.answer_log import question_hash
from bot.core.types import Question
from bot.platforms.identity import DEFAULT_KEY, user_hash
from bot.service.settings import Settings
from bot.service.user_key import KEY_FILE, user_hash_key
from bot.service.wiring import open_core
from knowledge.chunking import chunk_document
from tests.documents import policy
from tests.environment import core_environment

QUESTION = "How many days of annual leave do I get?"


def _settings(database_url: str, redis_url: str, **extra: str) -> Settings:
    return Settings.from_env(
        core_environment(database_url=database_url, redis_url=redis_url, **extra)
    )


async def test_two_starts_without_a_key_share_one_generated_and_kept_key(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    settings = _settings(
        database_url, redis_url, SUPPORTBOT_USER_HASH_KEY="", SUPPORTBOT_HOME=str(tmp_path)
    )
    async with open_core(settings) as first:
        pass
    async with open_core(settings) as second:
        pass
    assert first.user_hash_key == second.user_hash_key
    assert first.user_hash_key != DEFAULT_KEY and len(first.user_hash_key) >= 32
    kept = tmp_path / KEY_FILE
    assert kept.read_text().strip().encode() == first.user_hash_key
    assert kept.stat().st_mode & 0o777 == 0o600
    assert user_hash("slack", "T1:U1", first.user_hash_key) != user_hash("slack", "T1:U1")


def test_another_home_gets_another_key_and_the_setting_wins(tmp_path: Path) -> None:
    one = user_hash_key(Settings.from_env({"SUPPORTBOT_HOME": str(tmp_path / "a")}))
    other = user_hash_key(Settings.from_env({"SUPPORTBOT_HOME": str(tmp_path / "b")}))
    assert one != other
    given = Settings.from_env({"SUPPORTBOT_HOME": str(tmp_path / "a"),
                               "SUPPORTBOT_USER_HASH_KEY": "from-the-secret-store"})  # fmt: skip
    assert user_hash_key(given) == b"from-the-secret-store"


def test_a_home_that_cannot_keep_a_key_gets_a_warning_and_one_key_per_process(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    settings = Settings.from_env({"SUPPORTBOT_HOME": str(blocked / "home")})
    with caplog.at_level(logging.WARNING, logger="bot.service.user_key"):
        key = user_hash_key(settings)
        again = user_hash_key(settings)
    assert key == again and key != DEFAULT_KEY
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "set SUPPORTBOT_USER_HASH_KEY" in warnings[0]


async def test_the_answer_log_keys_the_question_hash(database_url: str, redis_url: str) -> None:
    settings = _settings(database_url, redis_url)
    async with open_core(settings) as core:
        document = policy(url="https://hb.test/leave", title="Leave Policy")
        await core.kb.store.upsert(document, chunk_document(document))
        answer = await core.answers.answer(Question(QUESTION))
        async with core.kb.engine.connect() as connection:
            stored = (
                await connection.execute(
                    text("SELECT question_hash FROM answers WHERE id = :id"), {"id": answer.id}
                )
            ).scalar_one()
    assert stored != hashlib.sha256(QUESTION.encode()).hexdigest()[:16]
    assert stored == hmac.new(b"test-user-hash-key", QUESTION.encode(), "sha256").hexdigest()[:16]
    assert stored == question_hash(QUESTION, core.user_hash_key)
