"""Two models side by side on the held-out examples of an export.

Each example's system and user messages (the exact prompt the bot answers from) go to each
model, and each reply is scored: answered (not the ``NOT_COVERED`` decline); valid citations (at
least one ``[n]``, and every one names a source of the example); correct (a judge compares it
with the approved answer; a decline or a failure counts as incorrect); house tone
(``tone_problems``); latency and tokens. A model that fails on an example fails that example,
and the reason is reported: the comparison always finishes.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.core.citations import cited_numbers
from bot.core.llm import ChatMessage, ChatModel, LLMUnavailableError
from bot.core.writers import ANSWER_MAX_TOKENS, declines
from bot.evaluation.judge import Judge
from bot.evaluation.tone import tone_problems
from bot.loop.tuning import messages
from bot.loop.tuning.errors import TuningError

# How the question template (bot/core/prompts/question.md) opens each source and the question.
_SOURCE_TAG = re.compile(r'^<source n="(\d+)"', re.MULTILINE)
_QUESTION_LINE = "\nQuestion: "
_LEADING_COUNT = re.compile(r"^\d+ ")


@dataclass(frozen=True)
class HeldOutExample:
    prompt: tuple[ChatMessage, ...]  # the system and user messages
    question: str
    expected: str  # the approved answer
    sources: int


@dataclass(frozen=True)
class Outcome:
    """One model on one example; ``error`` says why there is no usable reply."""

    reply: str | None
    error: str | None
    latency_ms: float
    tokens: int
    correct: bool | None

    @property
    def answered(self) -> bool:
        return self.reply is not None and not declines(self.reply)


@dataclass(frozen=True)
class ModelFigures:
    """A model's results over the examples; ``errors`` are (example number, reason)."""

    model: str
    examples: int
    answered: int
    valid_citations: int
    correct: int
    judged: int
    tone_ok: int
    common_problem: tuple[str, int] | None
    mean_latency_ms: float | None
    total_tokens: int
    errors: tuple[tuple[int, str], ...]


def read_held_out(path: Path) -> list[HeldOutExample]:
    """The examples of a validation file written by ``tune export``. Raises ``TuningError``."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise TuningError(messages.held_out_unreadable(path, e.strerror or str(e))) from None
    examples = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            examples.append(_example(line, f"{path}:{number}"))
    if not examples:
        raise TuningError(messages.held_out_empty(path))
    return examples


def _example(line: str, where: str) -> HeldOutExample:
    try:
        chat = json.loads(line)["messages"]
        roles = [m["role"] for m in chat]
        contents = [m["content"] for m in chat]
    except (ValueError, KeyError, TypeError) as e:
        raise TuningError(messages.held_out_bad_line(where, str(e))) from None
    if roles != ["system", "user", "assistant"] or not all(isinstance(c, str) for c in contents):
        raise TuningError(messages.held_out_bad_line(where, "not system, user and assistant"))
    system, user, expected = contents
    return HeldOutExample(
        prompt=(ChatMessage("system", system), ChatMessage("user", user)),
        question=user.rpartition(_QUESTION_LINE)[2].strip(),
        expected=expected,
        sources=max((int(n) for n in _SOURCE_TAG.findall(user)), default=0),
    )


async def compare_models(
    examples: Sequence[HeldOutExample],
    models: Sequence[ChatModel],
    judge: Judge,
    progress: Callable[[], object] | None = None,
) -> list[ModelFigures]:
    """Every example through every model, scored; one ``ModelFigures`` per model, in order."""
    outcomes: list[list[Outcome]] = [[] for _ in models]
    for example in examples:
        for index, model in enumerate(models):
            outcomes[index].append(await _run(model, example, judge))
        if progress is not None:
            progress()
    return [
        _figures(model.name, examples, results)
        for model, results in zip(models, outcomes, strict=True)
    ]


async def _run(model: ChatModel, example: HeldOutExample, judge: Judge) -> Outcome:
    started = time.perf_counter()
    try:
        completion = await model.complete(example.prompt, max_tokens=ANSWER_MAX_TOKENS)
    except LLMUnavailableError as e:
        return Outcome(None, str(e), 0.0, 0, correct=False)
    latency_ms = (time.perf_counter() - started) * 1000
    tokens = completion.usage.prompt_tokens + completion.usage.completion_tokens
    if declines(completion.text):
        return Outcome(completion.text, None, latency_ms, tokens, correct=False)
    try:
        correct = await judge.correct(example.question, example.expected, completion.text, ())
    except LLMUnavailableError as e:
        return Outcome(completion.text, messages.judge_failed(str(e)), latency_ms, tokens, None)
    return Outcome(completion.text, None, latency_ms, tokens, correct)


def _figures(
    model: str, examples: Sequence[HeldOutExample], outcomes: Sequence[Outcome]
) -> ModelFigures:
    answered = [(e, o.reply) for e, o in zip(examples, outcomes, strict=True) if o.answered]
    problems = [tone_problems(reply) for _, reply in answered if reply is not None]
    # Each answer counts once per kind, and ties go to the kind met first.
    kinds = Counter(k for found in problems for k in dict.fromkeys(_kind(p) for p in found))
    latencies = [o.latency_ms for o in outcomes if o.reply is not None]
    return ModelFigures(
        model=model,
        examples=len(outcomes),
        answered=len(answered),
        valid_citations=sum(
            1 for example, reply in answered if reply and _cites_validly(reply, example.sources)
        ),
        correct=sum(1 for o in outcomes if o.correct),
        judged=sum(1 for o in outcomes if o.correct is not None),
        tone_ok=sum(1 for found in problems if not found),
        common_problem=kinds.most_common(1)[0] if kinds else None,
        mean_latency_ms=sum(latencies) / len(latencies) if latencies else None,
        total_tokens=sum(o.tokens for o in outcomes),
        errors=tuple((n, o.error) for n, o in enumerate(outcomes, 1) if o.error is not None),
    )


def _cites_validly(reply: str, sources: int) -> bool:
    numbers = cited_numbers(reply)
    return bool(numbers) and all(1 <= n <= sources for n in numbers)


def _kind(problem: str) -> str:
    """A tone problem without its particulars: "7 sentences (max 5)" is "sentences (max 5)"."""
    kind = _LEADING_COUNT.sub("", problem.split(":")[0])
    return kind.removesuffix("s") if kind.startswith("uncited") else kind
