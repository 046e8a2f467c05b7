"""Pseudonymous ids: what the bot stores instead of chat user ids."""

from __future__ import annotations

import hashlib
import hmac

# Without SUPPORTBOT_USER_HASH_KEY the hash is still one-way, but anyone who knows a user id
# could recompute it; the README asks production installs to set a key.
DEFAULT_KEY = b"supportbot-user-hash"


def user_hash(platform: str, user_id: str, key: bytes | None = None) -> str:
    """A stable, keyed hash of a platform user id (``slack:T123:U456`` style)."""
    digest = hmac.new(key or DEFAULT_KEY, f"{platform}:{user_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:24]
