"""Closing the loop in Slack: ``/kb gaps``, the admin's answer modal, the "Improve this answer"
message shortcut, and an asker's consent to be contacted.

Every admin action is checked against the directory when it happens, not only when the
button was shown: a list or a modal can outlive someone's admin rights.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.loop import messages as loop_messages
from bot.loop.curation import AdminAnswer, Curator, default_scopes, without_markers
from bot.platforms import admin_messages, messages
from bot.platforms.admin import AdminCommandError, parse_scopes
from bot.platforms.identity import user_hash
from bot.platforms.slack.blocks import (
    ACTION_ANSWER_GAP,
    ACTION_CONTACT_OK,
    FORM_ANSWER,
    FORM_QUESTION,
    FORM_SCOPES,
    GAPS_SHOWN,
    SHORTCUT_IMPROVE,
    VIEW_ADMIN_ANSWER,
    AnswerForm,
    answer_form_view,
    answer_id_of,
    form_subject,
    form_values,
    gap_list_blocks,
)
from bot.platforms.slack.directory import SlackDirectory
from bot.platforms.slack.feedback_blocks import ButtonValue
from bot.platforms.slack.mrkdwn import to_mrkdwn
from bot.service.lifecycle import WorkInProgress
from knowledge.errors import DatabaseUnavailableError

log = logging.getLogger(__name__)


class SlackCuration:
    def __init__(
        self,
        *,
        curator: Curator,
        directory: SlackDirectory,
        work: WorkInProgress,
        user_hash_key: bytes | None,
    ) -> None:
        self._curator = curator
        self._directory = directory
        self._work = work
        self._user_hash_key = user_hash_key

    def register(self, app: AsyncApp) -> None:
        app.action(ACTION_ANSWER_GAP)(self.on_answer_gap)
        app.action(ACTION_CONTACT_OK)(self.on_contact_ok)
        app.shortcut(SHORTCUT_IMPROVE)(self.on_improve)
        app.view(VIEW_ADMIN_ANSWER)(self.on_answer_submitted)

    def asker_hash(self, team: str, user: str) -> str:
        return user_hash("slack", f"{team}:{user}", self._user_hash_key)

    async def show_gaps(self, respond: AsyncRespond) -> None:
        """``/kb gaps`` (the caller checked that the sender is an admin)."""
        try:
            gaps, total = await self._curator.open_gaps(GAPS_SHOWN)
        except DatabaseUnavailableError as e:
            await respond(text=admin_messages.admin_failed(str(e)), response_type="ephemeral")
            return
        text = messages.gaps_heading(len(gaps), total) if gaps else messages.no_gaps()
        await respond(
            text=to_mrkdwn(text),
            blocks=gap_list_blocks(gaps, total),
            response_type="ephemeral",
            replace_original=False,
        )

    async def on_answer_gap(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        await ack()
        if not await self._directory.is_admin(body["user"]["id"]):
            await respond(text=admin_messages.admin_refusal(), response_type="ephemeral")
            return
        try:
            gap_id = int(action.get("value", ""))
            gap = await self._curator.gap(gap_id)
        except ValueError:
            return
        except DatabaseUnavailableError as e:
            await respond(text=admin_messages.admin_failed(str(e)), response_type="ephemeral")
            return
        if gap is None:
            await respond(text=loop_messages.gap_not_found(gap_id), response_type="ephemeral")
            return
        form = AnswerForm(
            title=messages.FORM_ANSWER_GAP_TITLE,
            question=gap.question,
            answer="",
            scopes=" ".join(default_scopes(gap.scopes)),
            gap_id=gap.id,
        )
        await self._open_form(client, body["trigger_id"], form, respond)

    async def on_improve(
        self, ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        await ack()
        if not await self._directory.is_admin(shortcut["user"]["id"]):
            await respond(text=admin_messages.admin_refusal(), response_type="ephemeral")
            return
        answer_id = answer_id_of(shortcut.get("message") or {})
        if answer_id is None:
            await respond(text=messages.not_a_bot_answer(), response_type="ephemeral")
            return
        record = await self._curator.remembered(answer_id)
        if record is None:
            await respond(
                text=to_mrkdwn(loop_messages.answer_forgotten()), response_type="ephemeral"
            )
            return
        answered = record.answer.outcome == "answered"
        form = AnswerForm(
            title=messages.FORM_IMPROVE_TITLE,
            question=record.question,
            answer=without_markers(record.answer.text) if answered else "",
            scopes=" ".join(default_scopes(record.scopes)),
            answer_id=answer_id,
        )
        await self._open_form(client, shortcut["trigger_id"], form, respond)

    async def _open_form(
        self, client: AsyncWebClient, trigger_id: str, form: AnswerForm, respond: AsyncRespond
    ) -> None:
        try:
            await client.views_open(trigger_id=trigger_id, view=answer_form_view(form))
        except SlackApiError as e:
            # An expired trigger (over 3 s old) is the usual cause; the admin can click again.
            log.warning("cannot open the answer form: %s", e.response.get("error"))
            await respond(text=messages.form_not_opened(), response_type="ephemeral")

    async def on_answer_submitted(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        user = body["user"]["id"]
        values = form_values(view)
        errors: dict[str, str] = {}
        if not await self._directory.is_admin(user):
            errors[FORM_ANSWER] = admin_messages.admin_refusal()
        if not values.get(FORM_ANSWER, "").strip():
            errors[FORM_ANSWER] = messages.answer_required()
        try:
            scopes = parse_scopes(values.get(FORM_SCOPES, "").split())
        except AdminCommandError as e:
            errors[FORM_SCOPES] = str(e).replace("`", "")
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        answer = AdminAnswer(
            text=values[FORM_ANSWER],
            admin=f"<@{user}>",
            scopes=scopes,
            question=values.get(FORM_QUESTION, ""),
        )
        gap_id, answer_id = form_subject(view)
        async with self._work.track():
            if gap_id is not None:
                reply = await self._curator.answer_gap(gap_id, answer)
            elif answer_id is not None:
                reply = await self._curator.improve(answer_id, answer)
            else:
                return
            try:
                await client.chat_postMessage(channel=user, text=to_mrkdwn(reply))
            except SlackApiError as e:
                log.warning("cannot confirm an admin's answer: %s", e.response.get("error"))

    async def on_contact_ok(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        user = body["user"]["id"]
        answer_id = ButtonValue.decode(action.get("value", "")).answer_id
        try:
            allowed = await self._curator.allow_contact(
                answer_id,
                asker=self.asker_hash(body.get("team", {}).get("id", ""), user),
                contact=f"<@{user}>",
            )
            reply = messages.contact_allowed() if allowed else messages.contact_not_queued()
        except DatabaseUnavailableError as e:
            reference = uuid.uuid4().hex[:12]
            log.warning("consent %s on answer %s not saved: %s", reference, answer_id, e)
            reply = messages.feedback_not_saved(reference)
        await respond(text=reply, response_type="ephemeral", replace_original=False)
