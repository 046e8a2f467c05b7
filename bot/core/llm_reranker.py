"""The chat model as a reranker: one call grades all the candidates of a question.

The candidates go to the model as quoted, numbered data blocks (as the answer prompt's sources
do), and it replies with the numbers of the ones that help, most relevant first. Reranking only
improves an answer, so it never costs one: when the model fails or its reply names no
candidate, the retrieval order stands, with a warning in the log.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from bot.core.llm import ChatMessage, ChatModel, LLMUnavailableError
from bot.core.prompts import Prompts
from bot.core.writers import format_sources
from knowledge.types import ScoredChunk

log = logging.getLogger(__name__)

NONE_RELEVANT = "NONE"
_NUMBER = re.compile(r"\d+")


class LLMReranker:
    """Reorders candidates as the chat model grades them; ungraded ones follow, in order."""

    def __init__(self, chat: ChatModel, prompts: Prompts) -> None:
        self._chat = chat
        self._prompts = prompts

    @property
    def name(self) -> str:
        return f"llm:{self._chat.name}"

    async def rerank(self, question: str, candidates: Sequence[ScoredChunk]) -> list[ScoredChunk]:
        if len(candidates) < 2:
            return list(candidates)
        prompt = self._prompts.rerank.substitute(
            sources=format_sources(candidates), question=question
        )
        try:
            completion = await self._chat.complete(
                [ChatMessage("user", prompt)], max_tokens=8 + 4 * len(candidates)
            )
        except LLMUnavailableError as e:
            log.warning("reranking with %s failed (%s); keeping the retrieval order", self.name, e)
            return list(candidates)
        graded = graded_order(completion.text, len(candidates))
        if graded is None:
            log.warning(
                "reranking with %s: the reply (%d characters) named no candidate; "
                "keeping the retrieval order",
                self.name,
                len(completion.text),
            )
            return list(candidates)
        chosen = set(graded)
        rest = [i for i in range(len(candidates)) if i not in chosen]
        return [candidates[i] for i in [*graded, *rest]]


def graded_order(reply: str, count: int) -> list[int] | None:
    """The candidates (0-based) a reply names, in its order, each once; numbers outside 1 to
    ``count`` are ignored. ``[]`` when the model says none help, None when the reply is not an
    answer to the question asked (no candidate number in it)."""
    if reply.strip().upper().startswith(NONE_RELEVANT):
        return []
    graded: list[int] = []
    for match in _NUMBER.finditer(reply):
        index = int(match.group()) - 1
        if 0 <= index < count and index not in graded:
            graded.append(index)
    return graded or None
