"""The settings every bot under test shares, whatever chat platform it is driven through."""

from __future__ import annotations

import uuid


def core_environment(*, database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """Settings for a bot on the given services; ``extra`` adds or overrides (``""`` unsets).

    Its own Redis namespace keeps tests apart; the hashing embedder needs no model, and its low
    similarities need a low answer threshold.
    """
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SUPPORTBOT_REDIS_NAMESPACE": f"test-{uuid.uuid4().hex[:8]}",
        "SUPPORTBOT_EMBEDDER": "hashing",
        "SUPPORTBOT_ANSWER_MIN_SIMILARITY": "0.1",
        **extra,
    }
