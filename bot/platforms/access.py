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

A Slack channel's entry may instead be a mapping, to choose how the bot behaves there::

    slack:
      channels:
        C0HELPDESK: {scopes: [it], respond: questions, private: true}

``respond: mention`` (the default) answers only mentions and follow-ups in threads the bot
answered in; ``respond: questions`` also answers top-level messages that read as questions
(``channel_modes.is_question``) without a mention. ``private: true`` answers ephemerally, to
the asker alone, with a button to share the answer with the channel.

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
RESPOND_MODES = ("mention", "questions")
_CHANNEL_KEYS = ("scopes", "respond", "private")


@dataclass(frozen=True)
class ChannelBehaviour:
    """How the bot answers in one Slack channel (``respond`` and ``private`` in the file)."""

    respond: str = "mention"
    private: bool = False


class AccessFileError(ValueError):
    """The access file cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class PlatformAccess:
    """One platform's mapping from channel, user and group ids to scopes."""

    channels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    users: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Channels whose entry chose a behaviour; the rest answer mentions, in public.
    behaviours: Mapping[str, ChannelBehaviour] = field(default_factory=dict)

    def behaviour(self, channel_id: str) -> ChannelBehaviour:
        """How the bot answers in ``channel_id``."""
        return self.behaviours.get(channel_id, ChannelBehaviour())

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
        platforms = {
            name: _platform(raw.get(name) or {}, f"{source}: {name}", behaviours=name == "slack")
            for name in raw
        }
        return cls(**platforms)


def _platform(raw: Any, where: str, *, behaviours: bool) -> PlatformAccess:
    if not isinstance(raw, dict):
        raise AccessFileError(f"{where}: expected a mapping of {', '.join(_KINDS)}")
    unknown = set(raw) - set(_KINDS)
    if unknown:
        raise AccessFileError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    channels = raw.get("channels") or {}
    chosen: dict[str, ChannelBehaviour] = {}
    if behaviours and isinstance(channels, dict):
        channels = dict(channels)
        for key, entry in channels.items():
            if isinstance(entry, dict):
                chosen[str(key)] = _behaviour(entry, f"{where}.channels.{key}")
                channels[key] = entry.get("scopes") or []
    elif isinstance(channels, dict) and any(isinstance(e, dict) for e in channels.values()):
        raise AccessFileError(f"{where}.channels: only Slack channels take `respond`/`private`")
    kinds = {**raw, "channels": channels} if "channels" in raw else raw
    mapped = {kind: _id_map(kinds.get(kind) or {}, f"{where}.{kind}") for kind in kinds}
    return PlatformAccess(**mapped, behaviours=chosen)


def _behaviour(entry: dict[str, Any], where: str) -> ChannelBehaviour:
    unknown = set(entry) - set(_CHANNEL_KEYS)
    if unknown:
        raise AccessFileError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    respond = entry.get("respond", "mention")
    if respond not in RESPOND_MODES:
        raise AccessFileError(f"{where}.respond: expected one of {', '.join(RESPOND_MODES)}")
    private = entry.get("private", False)
    if not isinstance(private, bool):
        raise AccessFileError(f"{where}.private: expected true or false")
    return ChannelBehaviour(respond=respond, private=private)


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
