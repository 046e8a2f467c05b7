"""The chat model: any OpenAI-compatible chat completions API, through ``AsyncOpenAI``.

Timeouts are per request; 429 and 5xx answers are retried by the client with exponential
backoff, a bounded number of times. Whatever still fails becomes ``LLMUnavailableError``.
A streamed reply has the same timeout between two of its chunks, so a model that stalls
mid-answer fails like one that never answers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NoReturn, Protocol

import httpx
import openai

from bot.core.types import Usage


class LLMUnavailableError(Exception):
    """The model could not produce an answer (unreachable, overloaded, timed out, malformed)."""


class ModelFailingError(LLMUnavailableError):
    """The model itself is failing (429 after retries, 5xx, timed out, unreachable), as opposed
    to refusing one request: what the circuit breaker counts."""


# Statuses that say the service is in trouble, not that the request was wrong.
FAILING_STATUSES = frozenset({408, 409, 429})


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Completion:
    text: str
    model: str
    usage: Usage


@dataclass(frozen=True)
class CompletionDelta:
    """The next piece of a reply being streamed."""

    text: str


class ChatModel(Protocol):
    """Completes a conversation with one named model, whole or as it is written."""

    @property
    def name(self) -> str: ...

    async def complete(self, messages: Sequence[ChatMessage], *, max_tokens: int) -> Completion:
        """The model's reply; raises ``LLMUnavailableError`` when there is none."""
        ...

    def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int
    ) -> AsyncIterator[CompletionDelta | Completion]:
        """The reply as deltas, then the whole ``Completion``; raises ``LLMUnavailableError``
        (possibly after some deltas) when the model fails or stalls."""
        ...


class OpenAIChatModel:
    """Chat completions from OpenAI, Azure OpenAI, vLLM, Ollama or any compatible server."""

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None,
        base_url: str | None,
        timeout: float = 20.0,
        max_retries: int = 2,
        temperature: float = 0.1,
    ) -> None:
        self._model = model
        self._temperature = temperature
        self._client = openai.AsyncOpenAI(
            api_key=api_key or "not-needed",  # local servers often need none; the client does
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
        )

    @property
    def name(self) -> str:
        return self._model

    async def complete(self, messages: Sequence[ChatMessage], *, max_tokens: int) -> Completion:
        try:
            response = await self._client.chat.completions.create(
                **self._request(messages, max_tokens)
            )
        except (openai.OpenAIError, ValueError) as e:
            _unavailable(e)
        choices = getattr(response, "choices", None)
        content = choices[0].message.content if choices else None
        if not isinstance(content, str) or not content.strip():
            raise LLMUnavailableError("the model's response had no text")
        usage = response.usage
        return Completion(
            text=content.strip(),
            model=response.model or self._model,
            usage=Usage(
                prompt_tokens=usage.prompt_tokens if usage else 0,
                completion_tokens=usage.completion_tokens if usage else 0,
            ),
        )

    def _request(self, messages: Sequence[ChatMessage], max_tokens: int) -> dict[str, Any]:
        return {
            "model": self._model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "temperature": self._temperature,
            "max_tokens": max_tokens,
        }

    async def stream(
        self, messages: Sequence[ChatMessage], *, max_tokens: int
    ) -> AsyncIterator[CompletionDelta | Completion]:
        parts: list[str] = []
        model, usage = self._model, Usage()
        try:
            response = await self._client.chat.completions.create(
                **self._request(messages, max_tokens),
                stream=True,
                stream_options={"include_usage": True},
            )
            async for chunk in response:
                model = chunk.model or model
                if chunk.usage is not None:
                    usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                text = chunk.choices[0].delta.content if chunk.choices else None
                if text:
                    parts.append(text)
                    yield CompletionDelta(text)
        except (openai.OpenAIError, httpx.HTTPError, ValueError) as e:
            _unavailable(e)
        text = "".join(parts).strip()
        if not text:
            raise LLMUnavailableError("the model's response had no text")
        yield Completion(text=text, model=model, usage=usage)


def _unavailable(e: Exception) -> NoReturn:
    """The library's exception as ours: failing (counted by the breaker) or refused."""
    if isinstance(e, openai.APIStatusError):
        failing = e.status_code in FAILING_STATUSES or e.status_code >= 500
        error = ModelFailingError if failing else LLMUnavailableError
        raise error(f"the model answered HTTP {e.status_code}") from e
    # A stream read past its timeout surfaces as httpx's own error, not openai's.
    if isinstance(e, openai.APITimeoutError | httpx.TimeoutException):
        raise ModelFailingError("the model did not answer in time") from e
    if isinstance(e, openai.APIConnectionError | httpx.TransportError):
        raise ModelFailingError("the model cannot be reached") from e
    raise LLMUnavailableError(f"the model's response was unusable ({type(e).__name__})") from e
