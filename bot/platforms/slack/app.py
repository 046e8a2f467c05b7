"""The Bolt app: Slack's request verification, retries and routing around our listeners."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.console.links import ConsoleLinks
from bot.console.signin import RedisConsoleSignIn
from bot.loop.feedback import PgFeedbackStore
from bot.platforms.admin import KnowledgeAdmin
from bot.platforms.slack.assistant import SlackAssistantThreads
from bot.platforms.slack.curation import SlackCuration
from bot.platforms.slack.directory import SlackDirectory
from bot.platforms.slack.listeners import SlackListeners, SlackOptions
from bot.platforms.slack.owners import SlackOwnerDirectory, slack_admin_destinations
from bot.platforms.slack.reporter import SlackReporter
from bot.platforms.slack.sharing import SlackPrivateAnswers
from bot.service.components import Core
from bot.service.markers import RedisMarkers
from bot.service.settings import Settings

log = logging.getLogger(__name__)

# Rate-limited calls wait for Slack's Retry-After and try again, at most this many times.
RATE_LIMIT_RETRIES = 3
# Bolt reads SLACK_BOT_TOKEN from the environment even when given a client built with it, then
# warns that the token is unused: at every start, and it reads like a misconfiguration.
_TOKEN_UNUSED = "As you gave `client` as well, `token` will be unused."


class _BoltNoiseFilter(logging.Filter):
    """Drops Bolt's unused-token warning, and the traceback under "Failed to connect" when Slack
    cannot be reached: the one-line message says all there is, at every retry."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage() == _TOKEN_UNUSED:
            return False
        if record.exc_info and isinstance(record.exc_info[1], OSError | aiohttp.ClientError):
            record.exc_info, record.exc_text = None, None
        return True


def web_client(settings: Settings) -> AsyncWebClient:
    """The Web API client: ``SLACK_API_URL``, retrying rate limits and dropped connections."""
    token = settings.slack_bot_token.reveal() if settings.slack_bot_token else None
    return AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=1),
            AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ],
    )


class SlackTokenError(ValueError):
    """Slack refused a configured token; the message names the setting."""


# Errors that mean the token itself is wrong, as opposed to Slack or the network being down.
_BAD_TOKEN_ERRORS = {"invalid_auth", "not_authed", "account_inactive", "token_revoked",
                     "not_allowed_token_type", "token_expired"}  # fmt: skip


async def check_tokens(client: AsyncWebClient, app_token: str | None) -> None:
    """Fail at start, with the setting named, when Slack refuses a token.

    Without this, a wrong app token leaves Socket Mode retrying forever in the background.
    When Slack cannot be reached the server starts anyway and Slack's clients keep retrying.
    """
    checks: list[tuple[str, Callable[[], Awaitable[Any]]]] = [("SLACK_BOT_TOKEN", client.auth_test)]
    if app_token is not None:
        checks.append(
            ("SLACK_APP_TOKEN", lambda: client.apps_connections_open(app_token=app_token))
        )
    for setting, call in checks:
        try:
            await call()
        except SlackApiError as e:
            error = e.response.get("error") if e.response is not None else None
            if error in _BAD_TOKEN_ERRORS:
                raise SlackTokenError(f"{setting} was refused by Slack: {error}") from None
            log.warning("cannot check %s with Slack: %s", setting, error or e)
        except (OSError, aiohttp.ClientError) as e:
            log.warning("cannot reach Slack to check %s: %s", setting, e)


def _bolt_logger() -> logging.Logger:
    logger = logging.getLogger("slack_bolt")
    if not any(isinstance(f, _BoltNoiseFilter) for f in logger.filters):
        logger.addFilter(_BoltNoiseFilter())
    return logger


def build_slack_app(settings: Settings, core: Core) -> AsyncApp:
    """A Bolt app answering from ``core``; HTTP mode verifies every request's signature."""
    client = web_client(settings)
    socket_mode = settings.slack_app_token is not None
    app = AsyncApp(
        client=client,
        signing_secret=(
            settings.slack_signing_secret.reveal() if settings.slack_signing_secret else None
        ),
        # Socket Mode has no HTTP endpoint to verify; Slack authenticates the socket instead.
        request_verification_enabled=not socket_mode,
        process_before_response=False,
        logger=_bolt_logger(),
    )
    directory = SlackDirectory(
        client,
        access=settings.access.slack,
        admins=settings.slack_admins,
        admin_channel=settings.slack_admin_channel,
    )
    markers = RedisMarkers(core.redis, settings.redis_namespace)
    listeners = SlackListeners(
        answers=core.answers,
        admin=KnowledgeAdmin(core.kb, core.jobs, core.sources, core.source_jobs, core.uploads),
        feedback=PgFeedbackStore(core.kb.engine),
        markers=markers,
        ledger=core.questions,
        work=core.work,
        directory=directory,
        curator=core.curator,
        curation=SlackCuration(
            curator=core.curator,
            directory=directory,
            work=core.work,
            user_hash_key=core.user_hash_key,
        ),
        options=SlackOptions(
            escalation_channel=settings.slack_escalation_channel,
            experts=settings.slack_experts,
            contact=settings.contact,
            user_hash_key=core.user_hash_key,
            max_upload_bytes=settings.max_document_bytes,
            streaming=settings.chat_model is not None,
            access=settings.access.slack,
            file_hosts=frozenset(
                {"files.slack.com", urlsplit(settings.slack_api_url).hostname or ""}
            ),
            console=ConsoleLinks(
                RedisConsoleSignIn(core.redis, settings.redis_namespace), settings.public_url
            ),
        ),
        assistant=SlackAssistantThreads(markers, settings.slack_suggested_prompts),
        private_answers=SlackPrivateAnswers(core.redis, settings.redis_namespace),
    )
    listeners.register(app)
    core.reporters.register("slack", SlackReporter(client, directory))
    core.people.register(
        SlackOwnerDirectory(client),
        slack_admin_destinations(settings.slack_admins, settings.slack_admin_channel),
    )
    return app
