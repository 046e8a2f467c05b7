"""The secret key of the hashes stored instead of chat user ids and question texts.

``SUPPORTBOT_USER_HASH_KEY`` when it is set. Otherwise a random key is generated on the first
start and kept in ``SUPPORTBOT_HOME`` (readable by its owner only), so every later start, and
every process sharing that folder, hashes the same person to the same value. Replicas that do
not share a home must be given the key: each would otherwise generate its own.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from pathlib import Path

from bot.service.settings import Settings

log = logging.getLogger(__name__)

KEY_FILE = "user-hash.key"
# A process whose home cannot keep a key still needs one key for its whole life.
_unkept: dict[Path, bytes] = {}


def user_hash_key(settings: Settings) -> bytes:
    """The key: the setting, else the one kept in the home folder (made on first use)."""
    if settings.user_hash_key is not None:
        return settings.user_hash_key.reveal().encode()
    path = settings.home / KEY_FILE
    try:
        return _kept_key(path)
    except OSError as e:
        if path not in _unkept:
            log.warning(
                "SUPPORTBOT_USER_HASH_KEY is not set and %s cannot be kept (%s): user ids are "
                "hashed with a key that changes on every start; set SUPPORTBOT_USER_HASH_KEY",
                path, e.strerror or e,
            )  # fmt: skip
            _unkept[path] = secrets.token_hex(32).encode()
        return _unkept[path]


def _kept_key(path: Path) -> bytes:
    with contextlib.suppress(FileNotFoundError):
        return _read(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole under another name, then linked into place: a process starting at the
    # same moment either wins the link or reads the winner's complete key, never a half.
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32) + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
    finally:
        draft.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> bytes:
    key = path.read_text().strip()
    if not key:
        raise OSError(f"{path} is empty")
    return key.encode()
