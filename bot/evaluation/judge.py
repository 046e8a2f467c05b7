"""Correctness judges: an LLM grader when a model is configured, else lexical overlap."""

from __future__ import annotations

from typing import Protocol

from bot.core.llm import ChatMessage, ChatModel
from bot.core.prompts import Prompts
from bot.evaluation.metrics import has_tokens, lexically_correct


class Judge(Protocol):
    """Decides whether an answer gives the expected answer; None when it cannot tell."""

    @property
    def name(self) -> str: ...

    async def correct(
        self, question: str, expected: str, answer: str, required_tokens: tuple[str, ...]
    ) -> bool | None: ...


class LexicalJudge:
    """Offline grading: required tokens when the set has them, else word overlap.

    A bare yes/no reference cannot be matched by words, so those answers are not judged.
    """

    name = "lexical"

    async def correct(
        self, question: str, expected: str, answer: str, required_tokens: tuple[str, ...]
    ) -> bool | None:
        if required_tokens:
            return has_tokens(answer, required_tokens)
        if expected.strip().lower().rstrip(".") in {"yes", "no", ""}:
            return None
        return lexically_correct(answer, expected)


class LLMJudge:
    """A chat model grades the answer against the reference (one word: CORRECT/INCORRECT)."""

    def __init__(self, chat: ChatModel, prompts: Prompts) -> None:
        self._chat = chat
        self._prompts = prompts

    @property
    def name(self) -> str:
        return f"llm:{self._chat.name}"

    async def correct(
        self, question: str, expected: str, answer: str, required_tokens: tuple[str, ...]
    ) -> bool | None:
        if not expected.strip():
            return None
        prompt = self._prompts.judge.substitute(question=question, expected=expected, answer=answer)
        completion = await self._chat.complete([ChatMessage("user", prompt)], max_tokens=5)
        verdict = completion.text.strip().upper()
        if verdict.startswith("INCORRECT"):
            return False
        if verdict.startswith("CORRECT"):
            return True
        return None
