"""Who the bot can write to privately: a document's owner, found by each chat platform that
knows them (an e-mail address or a chat id), and where reports for admins go."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.core.types import ReplyTo


class OwnerDirectory(Protocol):
    """One platform's way to a person named by an e-mail address or a chat id."""

    async def find(self, owner: str) -> ReplyTo | None:
        """Where a direct message reaches ``owner``, or None when this platform does not know
        them; logs its own failures."""
        ...


class People:
    """The owner directories and admins' destinations the chat adapters registered."""

    def __init__(self) -> None:
        self._directories: list[OwnerDirectory] = []
        self._admins: list[ReplyTo] = []

    def register(self, directory: OwnerDirectory, admins: Sequence[ReplyTo]) -> None:
        self._directories.append(directory)
        self._admins.extend(admins)

    @property
    def admins(self) -> tuple[ReplyTo, ...]:
        """Where reports for admins go (an admin channel, or each admin's direct messages)."""
        return tuple(self._admins)

    async def find(self, owner: str) -> ReplyTo | None:
        """The first platform's way to ``owner``, or None when no platform knows them."""
        for directory in self._directories:
            found = await directory.find(owner)
            if found is not None:
                return found
        return None
