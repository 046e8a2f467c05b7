"""Approved answers out as fine-tuning files: OpenAI's chat format, training and held out.

Each example is the exact prompt the bot answers from at run time (``answer_prompt``: the
system prompt with the house style, the sources as quoted blocks, the question) followed by the
approved answer. Before that:

- only examples whose scopes are all within ``ExportOptions.scopes`` (and ``public``) are
  kept: a tuned model answers everyone it is deployed for, so it must not learn from
  documents some of them may not see;
- questions, answers, and admins' answers among the sources, are scrubbed of e-mail
  addresses, phone numbers and names (``scrub.py``); the documents' own sources are not;
- near-identical questions are kept once: the same words after case, spacing and punctuation
  are ignored, or embeddings at least ``DUPLICATE_SIMILARITY`` alike. Admin answers win over
  voted ones, then newer over older;
- a share of the examples is held out for validation, chosen by a hash of the normalised
  question, so an example stays on its side of the split when the export is run again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.core.llm import ChatMessage
from bot.core.prompts import Prompts
from bot.core.writers import answer_prompt
from bot.loop.curation import CANONICAL_ANSWER_PREFIX
from bot.loop.examples import ApprovedAnswer
from bot.loop.tuning import messages
from bot.loop.tuning.errors import TuningError
from bot.loop.tuning.files import write_atomically
from bot.loop.tuning.scrub import Scrubber, words_of
from knowledge.embedders import Embedder
from knowledge.types import PUBLIC_SCOPE, ScoredChunk

DUPLICATE_SIMILARITY = 0.95
MIN_TRAINING_EXAMPLES = 10  # OpenAI refuses a training file with fewer
DEFAULT_MIN_EXAMPLES = 12  # ten to train on and two held out
DEFAULT_VALIDATION_SHARE = 0.2

_NOT_WORD = re.compile(r"[\W_]+")


class TooFewExamplesError(TuningError):
    """Not enough distinct approved answers to train on."""


@dataclass(frozen=True)
class ExportOptions:
    out: Path
    prompts: Prompts
    company: str
    validation_share: float = DEFAULT_VALIDATION_SHARE
    min_examples: int = DEFAULT_MIN_EXAMPLES
    scopes: frozenset[str] = frozenset({PUBLIC_SCOPE})


@dataclass(frozen=True)
class ExportResult:
    """What was written: ``duplicates`` approved answers were left out as near-identical and
    ``restricted`` as outside the scopes; ``scrubbed`` questions and ``scrubbed_answers``
    answers (with their admin-written sources) had personal details replaced."""

    training: Path
    validation: Path
    training_count: int
    validation_count: int
    approved: int
    duplicates: int
    scrubbed: int
    scrubbed_answers: int = 0
    restricted: int = 0


@dataclass(frozen=True)
class _Example:
    key: str  # the normalised, scrubbed question
    question: str  # scrubbed
    approved: ApprovedAnswer
    answer: str  # scrubbed
    sources: tuple[ScoredChunk, ...]  # admins' answers among them scrubbed

    @property
    def answer_scrubbed(self) -> bool:
        return self.answer != self.approved.answer or self.sources != self.approved.sources


def validation_path(training: Path) -> Path:
    """Where the held-out file of ``training`` goes: ``OUT.validation.jsonl`` beside it."""
    return training.with_name(f"{training.stem}.validation{training.suffix or '.jsonl'}")


def normalised(question: str) -> str:
    """The question with case, spacing and punctuation ignored."""
    return " ".join(_NOT_WORD.sub(" ", question.casefold()).split())


async def export_examples(
    approved: Sequence[ApprovedAnswer],
    options: ExportOptions,
    *,
    known_words: Iterable[str],
    embedder: Embedder,
) -> ExportResult:
    """Write the training and validation files, or raise ``TooFewExamplesError`` (then
    nothing is written). ``known_words`` are the knowledge base's (``knowledge_words``); the
    words of the examples' own sources are added, but for admins' answers (whose words may be
    anyone's). Raises ``OSError`` when a file cannot be written."""
    allowed = {PUBLIC_SCOPE, *options.scopes}
    everything = approved
    approved = [a for a in approved if set(a.scopes) <= allowed]
    restricted = len(everything) - len(approved)
    if len(approved) < options.min_examples:
        raise TooFewExamplesError(
            messages.too_few_examples(len(approved), options.min_examples, restricted=restricted)
        )
    sources = (f"{s.title} {s.text}" for a in approved for s in a.sources if not _by_an_admin(s))
    scrubber = Scrubber.from_words({*known_words, *(w for t in sources for w in words_of(t))})
    examples = await _distinct(approved, scrubber, embedder)
    if len(examples) < options.min_examples:
        raise TooFewExamplesError(
            messages.too_few_examples(
                len(examples), options.min_examples, len(approved), restricted=restricted
            )
        )
    training, validation = _split(examples, options.validation_share)
    validation_file = validation_path(options.out)
    write_atomically(
        {
            options.out: _jsonl(training, options),
            validation_file: _jsonl(validation, options),
        }
    )
    return ExportResult(
        training=options.out,
        validation=validation_file,
        training_count=len(training),
        validation_count=len(validation),
        approved=len(approved),
        duplicates=len(approved) - len(examples),
        scrubbed=sum(1 for e in examples if e.question != e.approved.question),
        scrubbed_answers=sum(1 for e in examples if e.answer_scrubbed),
        restricted=restricted,
    )


async def _distinct(
    approved: Sequence[ApprovedAnswer], scrubber: Scrubber, embedder: Embedder
) -> list[_Example]:
    """One example per question, admin answers first, then the newest."""
    preferred = sorted(approved, key=lambda a: (a.kind != "admin", -a.created_at.timestamp()))
    by_key: dict[str, _Example] = {}
    for answer in preferred:
        question = scrubber.scrub(answer.question)
        key = normalised(question)
        if key not in by_key:
            sources = tuple(_scrubbed_source(s, scrubber) for s in answer.sources)
            by_key[key] = _Example(key, question, answer, scrubber.scrub(answer.answer), sources)
    candidates = list(by_key.values())
    # Scrubbed text is embedded: a remote embedder never sees the personal details.
    vectors = await embedder.embed([c.question for c in candidates])
    kept: list[int] = []
    for index in range(len(candidates)):
        if not kept or float(np.max(vectors[kept] @ vectors[index])) < DUPLICATE_SIMILARITY:
            kept.append(index)
    return [candidates[i] for i in kept]


def _by_an_admin(source: ScoredChunk) -> bool:
    """Whether ``source`` is an admin's answer (``supportbot:answers/…``), not a document."""
    return source.url.startswith(CANONICAL_ANSWER_PREFIX)


def _scrubbed_source(source: ScoredChunk, scrubber: Scrubber) -> ScoredChunk:
    """An admin's answer among the sources, scrubbed like the answers; documents as they are."""
    if not _by_an_admin(source):
        return source
    return dataclasses.replace(
        source,
        title=scrubber.scrub(source.title),
        section=scrubber.scrub(source.section),
        heading_path=tuple(scrubber.scrub(h) for h in source.heading_path),
        text=scrubber.scrub(source.text),
    )


def _split(examples: list[_Example], share: float) -> tuple[list[_Example], list[_Example]]:
    """Held out: the examples whose question hashes below ``share``; at least one, and no more
    than leaves ``MIN_TRAINING_EXAMPLES`` to train on when there are that many."""
    ranked = sorted(examples, key=lambda e: _position(e.key))
    held = sum(1 for e in ranked if _position(e.key) < share)
    held = max(held, 1)
    held = min(held, max(1, len(ranked) - MIN_TRAINING_EXAMPLES))
    return ranked[held:], ranked[:held]


def _position(key: str) -> float:
    """Where the question falls in [0, 1), the same on every run."""
    digest = hashlib.sha256(key.encode()).digest()
    return int.from_bytes(digest[:8]) / 2**64


def _jsonl(examples: list[_Example], options: ExportOptions) -> str:
    lines = []
    for example in examples:
        prompt = answer_prompt(
            options.prompts,
            company=options.company,
            question=example.question,
            sources=example.sources,
        )
        chat = [*prompt, ChatMessage("assistant", example.answer)]
        lines.append(
            json.dumps(
                {"messages": [{"role": m.role, "content": m.content} for m in chat]},
                ensure_ascii=False,
            )
        )
    return "".join(f"{line}\n" for line in lines)
