"""Pseudonymous ids: what the bot stores instead of chat user ids."""

from __future__ import annotations

import hashlib
import hmac

# Only for callers that give no key (unit tests): the service always passes its own, from
# SUPPORTBOT_USER_HASH_KEY or generated and kept in SUPPORTBOT_HOME (bot/service/user_key.py).
DEFAULT_KEY = b"supportbot-user-hash"


def user_hash(platform: str, user_id: str, key: bytes | None = None) -> str:
    """A stable, keyed hash of a platform user id (``slack:T123:U456`` style)."""
    digest = hmac.new(key or DEFAULT_KEY, f"{platform}:{user_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:24]
