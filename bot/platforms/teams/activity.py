"""What an incoming Teams activity says: who sent it, from what kind of chat, and its text."""

from __future__ import annotations

import re
from typing import Any

from botbuilder.schema import Activity

from bot.platforms.access import PlatformAccess
from bot.platforms.identity import user_hash

_AT_TAG = re.compile(r"<at>[^<]*</at>", re.IGNORECASE)


def is_personal(activity: Activity) -> bool:
    return (activity.conversation.conversation_type or "personal") == "personal"


def user_id(activity: Activity) -> str:
    """The sender's Azure AD object id (what admins and access rules name), else their id."""
    sender = activity.from_property
    return str(sender.aad_object_id or sender.id or "")


def tenant(activity: Activity) -> str:
    # botbuilder's schema reads ``conversation.tenantID``; Teams sends the tenant in channelData.
    return str(((activity.channel_data or {}).get("tenant") or {}).get("id") or "")


def sender_hash(activity: Activity, key: bytes | None) -> str:
    """The sender as the pseudonym that feedback, questions and consent are stored under."""
    return user_hash("teams", f"{tenant(activity)}:{user_id(activity)}", key)


def base_conversation(conversation_id: str) -> str:
    """A channel's id for any of its reply chains (``19:…@thread.tacv2;messageid=…``)."""
    return conversation_id.split(";", 1)[0]


def access_ids(activity: Activity) -> list[str]:
    """The ids the access rules may name for the activity's conversation: the chat or channel,
    and the channel's team."""
    data = activity.channel_data or {}
    ids = [
        base_conversation(activity.conversation.id),
        (data.get("channel") or {}).get("id"),
        (data.get("team") or {}).get("id"),
    ]
    return list(dict.fromkeys(str(i) for i in ids if i))


def conversation_scopes(activity: Activity, access: PlatformAccess) -> tuple[str, ...]:
    """What may be shown in the activity's conversation: its person's scopes in a personal
    chat, else the chat's, channel's and team's."""
    if is_personal(activity):
        return access.person_scopes(user_id(activity))
    return access.channel_scopes(*access_ids(activity))


def stored_activity(activity: Activity) -> dict[str, Any]:
    """The activity as JSON that ``Activity().deserialize`` reads back whole: msrest's
    ``serialize`` drops what it has no field for, such as whom a mention entity names."""
    stored: dict[str, Any] = activity.serialize()
    stored["entities"] = [
        {**entity.additional_properties, **entity.serialize()} for entity in activity.entities or []
    ]
    return stored


def mentions(activity: Activity, member_id: str) -> bool:
    return any(
        entity.type == "mention"
        and (entity.additional_properties.get("mentioned") or {}).get("id") == member_id
        for entity in activity.entities or []
    )


def question_text(activity: Activity) -> str:
    """The message text without the bot's @mention (Teams puts ``<at>Name</at>`` in it)."""
    text = activity.text or ""
    for entity in activity.entities or []:
        properties = entity.additional_properties
        mentioned = properties.get("mentioned") or {}
        if entity.type == "mention" and mentioned.get("id") == activity.recipient.id:
            text = text.replace(properties.get("text") or "", " ")
    return " ".join(_AT_TAG.sub(" ", text).split())
