"""Presses of the bot's card buttons in Teams: votes, "Ask a human", an asker's consent to be
contacted, and admins' answers from the gap and "Improve this answer" forms."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from botbuilder.core import InvokeResponse, TurnContext
from botbuilder.schema import Activity, ActivityTypes

from bot.loop.curation import AdminAnswer, Curator
from bot.loop.feedback import Feedback, PgFeedbackStore, Vote, clean_comment
from bot.platforms import admin_messages, messages
from bot.platforms.admin import AdminCommandError, parse_scopes
from bot.platforms.teams.activity import sender_hash, user_id
from bot.platforms.teams.cards import (
    INPUT_ANSWER,
    INPUT_QUESTION,
    INPUT_SCOPES,
    CardAction,
    Verb,
    consent_activity,
)
from bot.platforms.teams.connector import send, send_text
from bot.platforms.teams.escalation import TeamsEscalation
from bot.service.lifecycle import WorkInProgress
from knowledge.errors import DatabaseUnavailableError

log = logging.getLogger(__name__)

# The invoke Teams sends when the asker uses its own 👍/👎 on a message with
# ``channelData.feedbackLoopEnabled``.
FEEDBACK_INVOKE = "message/submitAction"


class TeamsCardActions:
    def __init__(
        self,
        *,
        feedback: PgFeedbackStore,
        curator: Curator,
        work: WorkInProgress,
        escalation: TeamsEscalation,
        admins: frozenset[str],
        user_hash_key: bytes | None,
    ) -> None:
        self._feedback = feedback
        self._curator = curator
        self._work = work
        self._escalation = escalation
        self._admins = admins
        self._user_hash_key = user_hash_key

    async def on_card_action(self, context: TurnContext, action: CardAction) -> None:
        if action.verb == "ask_human":
            await send_text(context, await self._escalation.escalate(context, action))
        elif action.verb in ("helpful", "not_helpful"):
            await self._on_vote(context, action)
        elif action.verb == "contact_ok":
            await send_text(context, await self._allow_contact(context, action))
        else:
            await send_text(context, await self._admin_answer(context, action))

    async def on_feedback_invoke(self, context: TurnContext, answer_id: str | None) -> None:
        """Teams' own feedback on the answer ``answer_id``: stored as a vote, with the comment
        the voter typed in Teams' form; Teams gets its invoke response either way."""
        value = context.activity.value if isinstance(context.activity.value, dict) else {}
        action = value.get("actionValue") or {}
        action = action if isinstance(action, dict) else {}
        reaction = action.get("reaction")
        if reaction in ("like", "dislike") and answer_id:
            verb: Verb = "helpful" if reaction == "like" else "not_helpful"
            comment = feedback_comment(action.get("feedback"))
            await self._on_vote(context, CardAction(verb, answer_id), comment=comment)
        else:
            log.info("feedback on a message that is not a known answer (%s)", reaction)
        response = InvokeResponse(status=200)
        await context.send_activity(Activity(type=ActivityTypes.invoke_response, value=response))

    async def _on_vote(
        self, context: TurnContext, action: CardAction, *, comment: str | None = None
    ) -> None:
        vote: Vote = 1 if action.verb == "helpful" else -1
        voter = sender_hash(context.activity, self._user_hash_key)
        feedback = Feedback(
            answer_id=action.answer_id, vote=vote, voter=voter, platform="teams", comment=comment
        )
        try:
            await self._feedback.record(feedback)
        except DatabaseUnavailableError as e:
            reference = uuid.uuid4().hex[:12]
            log.warning("feedback %s on answer %s not saved: %s", reference, action.answer_id, e)
            await send_text(context, messages.feedback_not_saved(reference))
            return
        await send_text(context, messages.feedback_thanks(vote))
        if await self._curator.vote(action.answer_id, vote, voter=voter):
            await send(context, consent_activity(action.answer_id), doing="asking for consent")

    async def _allow_contact(self, context: TurnContext, action: CardAction) -> str:
        try:
            allowed = await self._curator.allow_contact(
                action.answer_id,
                asker=sender_hash(context.activity, self._user_hash_key),
                contact=context.activity.from_property.name or user_id(context.activity),
            )
        except DatabaseUnavailableError as e:
            reference = uuid.uuid4().hex[:12]
            log.warning("consent %s on answer %s not saved: %s", reference, action.answer_id, e)
            return messages.feedback_not_saved(reference)
        return messages.contact_allowed() if allowed else messages.contact_not_queued()

    async def _admin_answer(self, context: TurnContext, action: CardAction) -> str:
        """An admin's answer to a gap (``answer_gap``) or to a bot answer (``improve``)."""
        activity = context.activity
        if user_id(activity) not in self._admins:
            return admin_messages.admin_refusal()
        text = action.inputs.get(INPUT_ANSWER, "").strip()
        if not text:
            return messages.answer_required()
        try:
            scopes = parse_scopes(action.inputs.get(INPUT_SCOPES, "").split())
        except AdminCommandError as e:
            return str(e)
        answer = AdminAnswer(
            text=text,
            admin=activity.from_property.name or user_id(activity),
            scopes=scopes,
            question=action.inputs.get(INPUT_QUESTION, ""),
        )
        async with self._work.track():
            if action.verb == "answer_gap" and action.gap_id is not None:
                return await self._curator.answer_gap(action.gap_id, answer)
            return await self._curator.improve(action.answer_id, answer)


def feedback_comment(feedback: Any) -> str | None:
    """The comment in Teams' feedback (``actionValue.feedback``: JSON text, or an object, with
    ``feedbackText``), cleaned for storing; None when there is none."""
    if isinstance(feedback, str):
        try:
            feedback = json.loads(feedback)
        except ValueError:
            return None
    text = feedback.get("feedbackText") if isinstance(feedback, dict) else None
    return clean_comment(text) if isinstance(text, str) else None
