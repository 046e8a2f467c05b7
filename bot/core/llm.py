"""The chat model: any OpenAI-compatible chat completions API, through ``AsyncOpenAI``.

Timeouts are per request; 429 and 5xx answers are retried by the client with exponential
backoff, a bounded number of times. Whatever still fails becomes ``LLMUnavailableError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

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


class ChatModel(Protocol):
    """Completes a conversation with one named model."""

    @property
    def name(self) -> str: ...

    async def complete(self, messages: Sequence[ChatMessage], *, max_tokens: int) -> Completion:
        """The model's reply; raises ``LLMUnavailableError`` when there is none."""
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
                model=self._model,
                messages=[{"role": m.role, "content": m.content} for m in messages],  # type: ignore[misc]
                temperature=self._temperature,
                max_tokens=max_tokens,
            )
        except openai.APIStatusError as e:
            failing = e.status_code in FAILING_STATUSES or e.status_code >= 500
            error = ModelFailingError if failing else LLMUnavailableError
            raise error(f"the model answered HTTP {e.status_code}") from e
        except openai.APITimeoutError as e:
            raise ModelFailingError("the model did not answer in time") from e
        except openai.APIConnectionError as e:
            raise ModelFailingError("the model cannot be reached") from e
        except (openai.OpenAIError, ValueError) as e:
            raise LLMUnavailableError(
                f"the model's response was unusable ({type(e).__name__})"
            ) from e
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
