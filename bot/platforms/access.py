"""Who may see what: chat channels, users and user groups mapped to document scopes.

Read from the YAML file named by ``SUPPORTBOT_ACCESS_FILE``::

    slack:
      channels: {C0123HRPRIV: [hr]}     # answers posted in this channel may quote `hr` documents
      users: {U0456ALICE: [hr, finance]} # in a DM, Alice may see `hr` and `finance`
      groups: {S0789PEOPLE: [hr]}        # so may every member of this Slack user group
    teams:
      channels: {"19:abc@thread.tacv2": [hr]}  # a channel, a team (all channels) or a chat
      users: {"<Azure AD object id>": [hr]}
    sources:
      groups: {confluence-hr: [hr]}      # a page a synced source restricts to this group


Everyone may see ``public`` documents. What is not listed sees only ``public``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from knowledge.types import PUBLIC_SCOPE

PLATFORMS = ("slack", "teams")
# ``sources`` maps the groups a synced source restricts pages to (a Confluence group…).
_SECTIONS = (*PLATFORMS, "sources")
_KINDS = ("channels", "users", "groups")


class AccessFileError(ValueError):
    """The access file cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class PlatformAccess:
    """One platform's mapping from channel, user and group ids to scopes."""

    channels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    users: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def channel_scopes(self, *channel_ids: str) -> tuple[str, ...]:
        """What an answer posted in a channel may quote: public plus the scopes of every id given.

        Teams passes the channel's id and its team's id, so a team's entry covers its channels.
        """
        return _with_public(s for c in channel_ids for s in self.channels.get(c, ()))

    def person_scopes(self, user_id: str, group_ids: Iterable[str] = ()) -> tuple[str, ...]:
        """What a person may see in a private conversation: their own and their groups' scopes."""
        scopes = list(self.users.get(user_id, ()))
        for group in group_ids:
            scopes += self.groups.get(group, ())
        return _with_public(scopes)


@dataclass(frozen=True)
class AccessRules:
    slack: PlatformAccess = field(default_factory=PlatformAccess)
    teams: PlatformAccess = field(default_factory=PlatformAccess)
    sources: PlatformAccess = field(default_factory=PlatformAccess)

    @classmethod
    def from_file(cls, path: Path) -> AccessRules:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as e:
            raise AccessFileError(f"cannot read access file {path}: {e.strerror or e}") from e
        except yaml.YAMLError as e:
            raise AccessFileError(f"access file {path} is not valid YAML: {e}") from e
        return cls.from_mapping(raw or {}, source=str(path))

    @classmethod
    def from_mapping(cls, raw: Any, *, source: str = "access rules") -> AccessRules:
        if not isinstance(raw, dict):
            raise AccessFileError(
                f"{source}: expected a mapping with `slack`, `teams` and/or `sources`"
            )
        unknown = set(raw) - set(_SECTIONS)
        if unknown:
            raise AccessFileError(f"{source}: unknown section {sorted(unknown)[0]!r}")
        platforms = {name: _platform(raw.get(name) or {}, f"{source}: {name}") for name in raw}
        return cls(**platforms)


def _platform(raw: Any, where: str) -> PlatformAccess:
    if not isinstance(raw, dict):
        raise AccessFileError(f"{where}: expected a mapping of {', '.join(_KINDS)}")
    unknown = set(raw) - set(_KINDS)
    if unknown:
        raise AccessFileError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    return PlatformAccess(**{kind: _id_map(raw.get(kind) or {}, f"{where}.{kind}") for kind in raw})


def _id_map(raw: Any, where: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, dict):
        raise AccessFileError(f"{where}: expected `id: [scope, ...]` entries")
    mapping: dict[str, tuple[str, ...]] = {}
    for key, scopes in raw.items():
        values = [scopes] if isinstance(scopes, str) else scopes
        if not isinstance(values, list) or not all(isinstance(s, str) and s for s in values):
            raise AccessFileError(f"{where}.{key}: expected a list of scope names")
        mapping[str(key)] = tuple(values)
    return mapping


def _with_public(scopes: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({PUBLIC_SCOPE, *scopes}))
