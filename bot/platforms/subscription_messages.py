"""What admins are told when they subscribe a channel to changes of documents (Markdown)."""

from __future__ import annotations

from collections.abc import Sequence


def subscribed(channel: str, scopes: Sequence[str], *, new: bool) -> str:
    what = f"documents with scope {', '.join(scopes)}" if scopes else "documents"
    verb = "will now hear" if new else "now hears"
    return (
        f"{channel} {verb} of changes to the {what} it may see: one message per changed "
        "document, with the sections that changed."
    )


def unsubscribed(channel: str, *, was: bool) -> str:
    if not was:
        return f"{channel} was not subscribed to changes."
    return f"{channel} will no longer hear of changes to documents."


def usage(prefix: str) -> str:
    return (
        f"Usage: `{prefix} subscribe [#channel] [scope ...]` to announce changes of documents "
        f"in a channel (only those it may see), `{prefix} unsubscribe [#channel]` to stop. "
        "Without a channel, the channel you type it in."
    )


def channel_unknown(name: str) -> str:
    return (
        f"I can't tell which channel {name} is: pick it from Slack's suggestions, "
        "or type the command in that channel."
    )


def not_in_a_channel() -> str:
    return "Type this in the channel that should hear of changes, mentioning me."
