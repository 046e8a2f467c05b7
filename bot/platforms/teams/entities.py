"""What Teams renders itself on a bot's message: the "AI generated" label with the answer's
sources as citations (a ``https://schema.org/Message`` entity whose ``citation`` claims Teams
shows as pop-ups on the ``[n]`` markers of the text), ``streaminfo``, which makes typing
activities the updates of a message being streamed, and Teams' own 👍/👎 (``channelData``'s
``feedbackLoopEnabled``; a press comes back as a ``message/submitAction`` invoke).

Teams' own feedback is on every answer a person may vote on, in personal chats, group chats
and channels alike: Microsoft's "Enhance AI-generated bot messages" page (msteams-docs,
bots/how-to/bot-messages-ai-generated-content.md) lists feedback buttons as available "for
bots in personal chats, group chats, and channels".

botbuilder's ``Entity`` serializes only its ``type``; ``RawEntity`` carries the rest.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from botbuilder.schema import Activity, Entity

from bot.core.types import Answer, Citation

StreamType = Literal["informative", "streaming", "final"]
# Teams' limits on a citation's name and abstract.
NAME_CHARS = 80
ABSTRACT_CHARS = 160


class RawEntity(Entity):  # type: ignore[misc]
    """An entity sent with every property given (``type`` and the rest, as JSON)."""

    _attribute_map: ClassVar[dict[str, dict[str, str]]] = {
        "type": {"key": "type", "type": "str"},
        "additional_properties": {"key": "", "type": "{object}"},
    }

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(type=body["type"])
        self.additional_properties = {k: v for k, v in body.items() if k != "type"}


def ai_message(answer: Answer) -> RawEntity:
    """The AI-generated label, with the answer's sources as Teams citations."""
    body: dict[str, Any] = {
        "type": "https://schema.org/Message",
        "@type": "Message",
        "@context": "https://schema.org",
        "@id": "",
        "additionalType": ["AIGeneratedContent"],
    }
    if answer.citations:
        body["citation"] = [_claim(answer, c) for c in answer.citations]
    return RawEntity(body)


def native_feedback(answer: Answer) -> dict[str, Any] | None:
    """The ``channelData`` that puts Teams' own 👍/👎 under ``answer``; None where there is
    nothing to vote on (an apology)."""
    return {"feedbackLoopEnabled": True} if answer.outcome in ("answered", "not_covered") else None


def has_native_feedback(activity: Activity) -> bool:
    return bool((activity.channel_data or {}).get("feedbackLoopEnabled"))


def stream_info(kind: StreamType, *, stream_id: str | None, sequence: int | None) -> RawEntity:
    """Marks an activity as one update of a streamed message (the final one has no sequence)."""
    body: dict[str, Any] = {"type": "streaminfo", "streamType": kind}
    if stream_id is not None:
        body["streamId"] = stream_id
    if sequence is not None:
        body["streamSequence"] = sequence
    return RawEntity(body)


def _claim(answer: Answer, citation: Citation) -> dict[str, Any]:
    name = " › ".join(p for p in (citation.title, citation.section) if p)
    appearance: dict[str, Any] = {
        "@type": "DigitalDocument",
        "name": _cut(name, NAME_CHARS),
        "abstract": _cut(_abstract(answer, citation) or name, ABSTRACT_CHARS),
    }
    if citation.has_web_link:
        appearance["url"] = citation.url
    return {"@type": "Claim", "position": citation.n, "appearance": appearance}


def _abstract(answer: Answer, citation: Citation) -> str:
    for source in answer.sources:
        if (source.document_id, source.section) == (citation.doc_id, citation.section):
            return " ".join(source.text.split())
    return ""


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
