"""The settings of what guards answering live: the chat model's circuit breaker and the
per-person limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Number(Protocol):
    """``Settings.from_env``'s reader of a number: its name, type, default and minimum."""

    def __call__(self, name: str, kind: Callable[[str], T], default: T, minimum: float) -> T: ...


def breaker_settings(number: Number) -> dict[str, Any]:
    """The circuit breaker's settings; ``SUPPORTBOT_LLM_BREAKER_FAILURES=0`` turns it off."""
    return {
        "llm_breaker_failures": number("SUPPORTBOT_LLM_BREAKER_FAILURES", int, 3, 0),
        "llm_breaker_window": number("SUPPORTBOT_LLM_BREAKER_WINDOW", float, 60.0, 1.0),
        "llm_breaker_cooldown": number("SUPPORTBOT_LLM_BREAKER_COOLDOWN", float, 30.0, 1.0),
        "llm_answer_deadline": number("SUPPORTBOT_LLM_ANSWER_DEADLINE", float, 10.0, 0.0),
    }


def rate_limit_settings(number: Number) -> dict[str, Any]:
    """Questions per asker per minute and per day; 0 (the default) is no limit."""
    return {
        "questions_per_minute": number("SUPPORTBOT_QUESTIONS_PER_MINUTE", int, 0, 0),
        "questions_per_day": number("SUPPORTBOT_QUESTIONS_PER_DAY", int, 0, 0),
    }
