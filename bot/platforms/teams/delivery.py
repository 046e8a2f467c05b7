"""An answer sent to Teams whole: its card, or its text where Teams refuses the card.

The sent message's id is kept as the answer's, since Teams' own feedback on it names only the
message; the question and answer are kept as the conversation's context for a follow-up.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from botbuilder.core import TurnContext

from bot.core.types import Answer
from bot.platforms.memory import RedisConversationMemory
from bot.platforms.teams.answer_ids import RedisAnswerIds
from bot.platforms.teams.cards import answer_activity, plain_answer_activity
from bot.platforms.teams.connector import Outcome, send_for_id
from bot.platforms.teams.entities import has_native_feedback
from bot.service.questions import RedisQuestionLedger

log = logging.getLogger(__name__)

# (context, answer, whether it was streamed already): sends it unless streamed, remembers it.
Deliver = Callable[[TurnContext, Answer, bool], Awaitable[None]]


class TeamsAnswerDelivery:
    def __init__(
        self,
        *,
        ledger: RedisQuestionLedger,
        memory: RedisConversationMemory,
        answer_ids: RedisAnswerIds,
    ) -> None:
        self._ledger = ledger
        self._memory = memory
        self._answer_ids = answer_ids

    def deliverer(self, question: str, conversation: str, ttl: int, key: str) -> Deliver:
        """What delivers the answer to ``question`` (asked in ``conversation``, handled under
        the ledger's ``key``), keeping the turn as context for ``ttl`` seconds."""

        async def deliver(context: TurnContext, answer: Answer, streamed: bool = False) -> None:
            if not streamed and not await self._ledger.posting(key):
                log.warning("question %s was taken over by another replica", key)
                return
            sent: Outcome = "sent"
            if not streamed:
                sent = await self._send(context, answer, question, conversation)
            # Recorded at once: Teams cannot be asked whether a replica that died from here on
            # posted it, so a takeover would answer again.
            await self._ledger.finish(key)
            if sent == "sent" and answer.outcome in ("answered", "not_covered"):
                await self._memory.remember(conversation, question, answer.text, ttl_seconds=ttl)

        return deliver

    async def _send(
        self, context: TurnContext, answer: Answer, question: str, conversation: str
    ) -> Outcome:
        activity = answer_activity(answer, question=question)
        sent, message_id = await send_for_id(context, activity, doing="answering")
        if sent == "rejected":
            # Teams refused the card (too large, or a client without cards): send text.
            activity = plain_answer_activity(answer)
            sent, message_id = await send_for_id(context, activity, doing="answering")
        if message_id is not None and has_native_feedback(activity):
            await self._answer_ids.remember(conversation, (message_id,), answer.id)
        return sent
