"""The OpenAI-compatible API for tuning: a client from the settings, and its errors as one
plain line saying what failed and what the API said."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import openai

from bot.loop.tuning import messages
from bot.loop.tuning.errors import TuningError
from bot.service.settings import Settings

# Uploading a training file takes longer than writing an answer.
MIN_TIMEOUT_SECONDS = 60.0


def require_api(settings: Settings) -> None:
    """Raise ``TuningError`` unless an OpenAI-compatible API is configured."""
    if settings.openai_api_key is None and settings.openai_base_url is None:
        raise TuningError(messages.tune_needs_api())


@asynccontextmanager
async def open_client(settings: Settings) -> AsyncIterator[openai.AsyncOpenAI]:
    """The real ``AsyncOpenAI`` client on ``OPENAI_BASE_URL`` with ``OPENAI_API_KEY``."""
    require_api(settings)
    client = openai.AsyncOpenAI(
        api_key=settings.openai_api_key.reveal() if settings.openai_api_key else "not-needed",
        base_url=settings.openai_base_url,
        timeout=max(settings.llm_timeout, MIN_TIMEOUT_SECONDS),
        max_retries=settings.llm_max_retries,
    )
    try:
        yield client
    finally:
        await client.close()


@contextmanager
def api_errors(what: str) -> Iterator[None]:
    """Turn the client's exceptions inside into a ``TuningError`` naming ``what`` failed."""
    try:
        yield
    except openai.APIStatusError as e:
        body = e.body if isinstance(e.body, dict) else {}
        said = body.get("message") or e.message
        raise TuningError(
            messages.api_failed(what, f"HTTP {e.status_code}", e.code, str(said))
        ) from None
    except openai.APITimeoutError:
        raise TuningError(messages.api_failed(what, "no answer in time")) from None
    except openai.APIConnectionError as e:
        reason = f"cannot reach {e.request.url.copy_with(query=None)}"
        raise TuningError(messages.api_failed(what, reason, None, str(e))) from None
    except openai.OpenAIError as e:
        raise TuningError(messages.api_failed(what, type(e).__name__, None, str(e))) from None
