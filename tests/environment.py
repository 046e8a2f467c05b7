"""The settings every bot under test shares, whatever chat platform it is driven through."""

from __future__ import annotations

import uuid


def core_environment(*, database_url: str, redis_url: str, **extra: str) -> dict[str, str]:
    """Settings for a bot on the given services; ``extra`` adds or overrides (``""`` unsets).

    Its own Redis namespace keeps tests apart; the hashing embedder needs no model, and its low
    similarities need a low answer threshold. The loopback fakes serve web pages and Teams files
    on 127.0.0.1, which chat may fetch only because it is allow-listed here.
    """
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SUPPORTBOT_FETCH_ALLOWED_NETWORKS": "127.0.0.1",
        "SUPPORTBOT_REDIS_NAMESPACE": f"test-{uuid.uuid4().hex[:8]}",
        "SUPPORTBOT_EMBEDDER": "hashing",
        # Given, so that no test keeps a generated key in the real home folder.
        "SUPPORTBOT_USER_HASH_KEY": "test-user-hash-key",
        "SUPPORTBOT_ANSWER_MIN_SIMILARITY": "0.1",
        **extra,
    }
