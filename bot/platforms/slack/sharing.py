"""Answers given to the asker alone (``private: true`` channels in the access file), and the
"Share with the channel" button that posts one in the question's thread for everyone.

Slack never hands an ephemeral message back, so the answer is kept in Redis under a random
token (the button's value) for ``SHARE_TTL_SECONDS``. Only the asker may share it, and only
once: the first press claims the token; a failed post gives the claim back.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

import redis.asyncio
from redis.exceptions import RedisError
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.platforms import assistant_messages as text
from bot.platforms import messages
from bot.platforms.slack.blocks import SlackMessage
from bot.platforms.slack.errors import log_slack_error

log = logging.getLogger(__name__)

ACTION_SHARE = "supportbot_share_answer"
SHARE_BLOCK = "supportbot_share"
# An ephemeral answer can be shared for a day (Slack drops it from view on reload anyway).
SHARE_TTL_SECONDS = 86_400


class SlackPrivateAnswers:
    """Posts ephemeral answers with a share button, and shares them when the asker presses it."""

    def __init__(self, client: redis.asyncio.Redis, namespace: str) -> None:
        self._redis = client
        self._prefix = f"{namespace}:slack:share:"

    def register(self, app: AsyncApp) -> None:
        app.action(ACTION_SHARE)(self.on_share)

    async def post(
        self,
        client: AsyncWebClient,
        *,
        channel: str,
        user: str,
        thread_ts: str,
        message: SlackMessage,
    ) -> None:
        """Show ``message`` to ``user`` alone, in ``thread_ts``, with the share button."""
        token = uuid.uuid4().hex
        record = {"asker": user, "channel": channel, "thread_ts": thread_ts,
                  "text": message.text, "blocks": message.blocks}  # fmt: skip
        shareable = True
        try:
            await self._redis.set(self._prefix + token, json.dumps(record), ex=SHARE_TTL_SECONDS)
        except (RedisError, OSError) as e:
            log.warning("a private answer cannot be made shareable: Redis unavailable (%s)", e)
            shareable = False
        blocks = list(message.blocks)
        if shareable:
            blocks.append(_share_block(token))
        await client.chat_postEphemeral(
            channel=channel,
            user=user,
            thread_ts=thread_ts,
            text=message.text,
            blocks=blocks,
            unfurl_links=False,
            unfurl_media=False,
        )

    async def on_share(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        await ack()
        token = str(action.get("value", ""))
        claim = self._prefix + token + ":shared"
        try:
            raw = await self._redis.get(self._prefix + token) if token.isalnum() else None
            record = json.loads(raw) if raw is not None else None
            if record is None or body["user"]["id"] != record["asker"]:
                reply = text.share_expired() if record is None else text.share_not_yours()
                await _tell(respond, reply)
                return
            if not await self._redis.set(claim, b"1", nx=True, ex=SHARE_TTL_SECONDS):
                await _tell(respond, text.share_already_done())
                return
        except (RedisError, OSError) as e:
            # Sharing twice would be worse than not at all: without Redis, nothing is shared.
            reference = uuid.uuid4().hex[:12]
            log.warning("share %s not done: Redis unavailable (%s)", reference, e)
            await _tell(respond, messages.unexpected_error(reference))
            return
        try:
            await client.chat_postMessage(
                channel=record["channel"],
                thread_ts=record["thread_ts"],
                text=record["text"],
                blocks=record["blocks"],
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as e:
            await self._redis.delete(claim)  # the asker may try again
            reference = log_slack_error("sharing a private answer", e)
            await _tell(respond, messages.unexpected_error(reference))
            return
        await respond(text=text.SHARED_NOTE, replace_original=True, response_type="ephemeral")


async def _tell(respond: AsyncRespond, reply: str) -> None:
    await respond(text=reply, response_type="ephemeral", replace_original=False)


def _share_block(token: str) -> dict[str, Any]:
    button = {
        "type": "button",
        "text": {"type": "plain_text", "text": text.BUTTON_SHARE, "emoji": True},
        "action_id": ACTION_SHARE,
        "value": token,
    }
    return {"type": "actions", "block_id": SHARE_BLOCK, "elements": [button]}
