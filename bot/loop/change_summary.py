"""A two-sentence summary of what a document's change means, written by the chat model from
the old and new text of the sections that changed (``prompts/change_summary.md``)."""

from __future__ import annotations

import logging
from pathlib import Path
from string import Template

from bot.core.llm import ChatMessage, ChatModel, LLMUnavailableError
from knowledge.announcements import DocumentChange

log = logging.getLogger(__name__)

PROMPT = Path(__file__).resolve().parents[1] / "core" / "prompts" / "change_summary.md"
# What one section may bring to the prompt, before and after: a summary needs no more.
MAX_SECTION_CHARS = 3000
MAX_SECTIONS = 12
MAX_TOKENS = 200


class ChangeSummarizer:
    """Summarises a change; None when the model cannot (the announcement goes without)."""

    def __init__(self, chat: ChatModel, template: Template | None = None) -> None:
        self._chat = chat
        self._template = template or Template(PROMPT.read_text(encoding="utf-8"))

    async def summarize(self, change: DocumentChange) -> str | None:
        """Two sentences on what ``change`` changed, or None with nothing to compare."""
        names = [*change.touched, *(n for n in change.added or () if n not in change.touched)]
        parts = [
            _section(name, change.before.get(name), change.after.get(name))
            for name in names[:MAX_SECTIONS]
            if change.before.get(name) or change.after.get(name)
        ]
        if not parts:
            return None
        prompt = self._template.substitute(title=change.title, sections="\n\n".join(parts))
        try:
            completion = await self._chat.complete(
                [ChatMessage("user", prompt)], max_tokens=MAX_TOKENS
            )
        except LLMUnavailableError as e:
            log.warning("no summary of document %s's change: %s", change.document_id, e)
            return None
        return " ".join(completion.text.split())


def _section(name: str, before: str | None, after: str | None) -> str:
    return (
        f"Section: {name}\n"
        f"Before: {_cut(before) if before is not None else '(not there)'}\n"
        f"After: {_cut(after) if after is not None else '(removed)'}"
    )


def _cut(text: str) -> str:
    return text if len(text) <= MAX_SECTION_CHARS else text[:MAX_SECTION_CHARS] + " …"
