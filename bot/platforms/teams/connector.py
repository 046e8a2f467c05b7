"""Sending to Teams through the Bot Connector, with its failures handled in one place.

Throttling (HTTP 429) is retried after the ``Retry-After`` the service asks for. Other
refusals are logged with a reference id and reported to the caller, never raised: the bot
was removed from a chat (403), the conversation is gone (404), or the message was rejected
(400 or 413, for example a card too large).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Literal

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ActivityTypes, ErrorResponseException
from msrest.exceptions import ClientRequestError

log = logging.getLogger(__name__)

Outcome = Literal["sent", "rejected", "failed"]
THROTTLE_RETRIES = 3
MAX_RETRY_AFTER_SECONDS = 30.0
REJECTED_STATUSES = {400, 413}


async def send(context: TurnContext, activity: Activity, *, doing: str) -> Outcome:
    """Send ``activity`` in the turn's conversation; ``doing`` names it in the log.

    Returns "sent", "rejected" (the service refused this activity: the caller may send a
    simpler one) or "failed" (the conversation cannot be reached; logged).
    """
    outcome, _ = await send_for_id(context, activity, doing=doing)
    return outcome


async def send_for_id(
    context: TurnContext, activity: Activity, *, doing: str
) -> tuple[Outcome, str | None]:
    """``send``, and the id Teams gave the sent message (None when not sent)."""
    for attempt in range(THROTTLE_RETRIES + 1):
        try:
            response = await context.send_activity(activity)
            return "sent", str(getattr(response, "id", "") or "") or None
        except ErrorResponseException as e:
            status = e.response.status_code if e.response is not None else 0
            if status == 429 and attempt < THROTTLE_RETRIES:
                wait = _retry_after(e, attempt)
                log.info("Teams throttled %s; retrying in %.1f s", doing, wait)
                await asyncio.sleep(wait)
                continue
            reference = uuid.uuid4().hex[:12]
            log.warning(
                "Teams error %s while %s in %s: HTTP %s %s",
                reference, doing, context.activity.conversation.id, status, _error_code(e),
            )  # fmt: skip
            return ("rejected" if status in REJECTED_STATUSES else "failed"), None
        except ClientRequestError as e:
            reference = uuid.uuid4().hex[:12]
            log.warning(
                "Teams error %s while %s: cannot reach the service: %s", reference, doing, e
            )
            return "failed", None
    return "failed", None


async def send_text(context: TurnContext, text: str) -> Outcome:
    """Send a short Markdown message (Teams renders a Markdown subset in message text)."""
    activity = Activity(type=ActivityTypes.message, text=text, text_format="markdown")
    return await send(context, activity, doing="replying")


async def send_typing(context: TurnContext) -> Outcome:
    """Show the typing indicator (Teams clears it after a few seconds or at the next message)."""
    return await send(context, Activity(type=ActivityTypes.typing), doing="showing typing")


def _retry_after(error: ErrorResponseException, attempt: int) -> float:
    header = error.response.headers.get("Retry-After") if error.response is not None else None
    try:
        wait = float(header) if header else 2.0**attempt
    except ValueError:
        wait = 2.0**attempt
    return min(max(wait, 0.0), MAX_RETRY_AFTER_SECONDS)


def _error_code(error: ErrorResponseException) -> str:
    body = getattr(error, "error", None)
    code = getattr(getattr(body, "error", None), "code", None)
    return str(code or "")
