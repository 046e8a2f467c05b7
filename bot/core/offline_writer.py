"""The offline writer (no LLM configured): the sentences of the sources that answer, quoted.

Retrieval scores every sentence of the sources it returns against the question with the
embedding model, so the writer chooses by meaning: with the bundled model, by a model fitted on
each sentence's similarity, words and source (``bot/core/quoting.py``), else by similarity and
shared words. It leads with the sentence that most likely answers, adds the few nearly as
likely, and quotes only from sources whose best sentence clears the same bar, so every source
it cites is one it quotes; a question in a source (a FAQ's "Q: …?") is never quoted, the
sentence answering it is. It is deterministic,
never paraphrases, and cannot translate or reason across sources. Sources stored before
sentences were (no sentence scores) are quoted by the words they share with the question.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from bot.core import messages
from bot.core.follow_up import continues_thread, last_question
from bot.core.quoting import QuotingModel, asks
from bot.core.types import Question, Usage
from bot.core.writers import OFFLINE_MODEL, Draft, DraftEvent, stream_whole
from knowledge.sentences import split_sentences
from knowledge.terms import content_terms
from knowledge.types import ScoredChunk


@dataclass(frozen=True)
class OfflineWriterOptions:
    """A sentence's score is its similarity to the question plus ``lexical_weight`` times the
    share of the question's words it contains. Quoted: sentences scoring within
    ``sentence_margin`` of the best, from sources whose best sentence is within
    ``source_margin`` of it, at most ``max_sentences``, from the first ``sources_used``.
    Chosen with `supportbot eval` (README, "The offline writer")."""

    max_sentences: int = 4
    sources_used: int = 3
    lexical_weight: float = 0.2
    sentence_margin: float = 0.2
    source_margin: float = 0.05
    # With a fitted quoting model (bot/core/quoting.py) the margins are in its log-odds, and
    # every source is read: the model weighs the source's place itself.
    model_sentence_margin: float = 3.0
    model_source_margin: float = 1.0
    # The house style keeps an answer under 150 words: sentences after the first are quoted
    # only while the quotes stay within this many (the frame and sources add the rest).
    max_words: int = 130


@dataclass(frozen=True)
class _Candidate:
    score: float
    source: int  # 1-based, the citation number
    position: int
    text: str


class ExtractiveAnswerWriter:
    """The offline writer: the sentences of the top sources that answer the question, cited;
    chosen by ``quoting`` when there is a model fitted for the embedder, else by similarity."""

    def __init__(
        self, options: OfflineWriterOptions | None = None, quoting: QuotingModel | None = None
    ) -> None:
        self._options = options or OfflineWriterOptions()
        self._quoting = quoting

    @property
    def model(self) -> str:
        return OFFLINE_MODEL

    async def standalone(self, question: Question) -> tuple[str, Usage]:
        previous = last_question(question)
        if not continues_thread(question.text, previous):
            return question.text, Usage()
        # The message's own words first, then the question it leans on, which names what the
        # message leaves out ("and can I carry some over?" + "How many days of annual leave…").
        # The whole question finds more than its key words alone: 18 of 21 follow-ups of
        # sample-conversations against 16 (README, "Answers").
        return f"{question.text} {previous}", Usage()

    async def write(self, question: str, sources: Sequence[ScoredChunk]) -> Draft:
        used = sources[: self._options.sources_used]
        if self._quoting is not None and any(source.sentences for source in sources):
            chosen = self._by_model(question, self._quoting, sources)
        elif any(source.sentences for source in used):
            chosen = self._by_meaning(question, used)
        else:
            chosen = self._by_words(question, used)
        if not chosen:
            return Draft(messages.offline_answer([]), OFFLINE_MODEL, Usage(), declined=True)
        chosen = _within_words(chosen, self._options.max_words)
        lead, rest = chosen[0], sorted(chosen[1:], key=lambda c: (c.source, c.position))
        lines = [f"{c.text} [{c.source}]" for c in (lead, *rest)]
        return Draft(messages.offline_answer(lines), OFFLINE_MODEL, Usage())

    async def stream(
        self, question: str, sources: Sequence[ScoredChunk]
    ) -> AsyncIterator[DraftEvent]:
        async for event in stream_whole(await self.write(question, sources)):
            yield event

    def _by_model(
        self, question: str, model: QuotingModel, sources: Sequence[ScoredChunk]
    ) -> list[_Candidate]:
        """The sentences the model scores within the margin of the best, best first."""
        candidates = [
            _Candidate(score, s.source, s.position, s.text)
            for score, s in model.scored(question, sources)
            if not asks(s.text)  # the model weighs the sentence after a question instead
        ]
        return _within_margins(
            candidates,
            self._options.model_sentence_margin,
            self._options.model_source_margin,
            self._options.max_sentences,
        )

    def _by_meaning(self, question: str, sources: Sequence[ScoredChunk]) -> list[_Candidate]:
        """The sentences within the margin of the closest one, closest first."""
        options = self._options
        wanted = content_terms(question)
        candidates = [
            _Candidate(
                sentence.similarity + options.lexical_weight * _share(wanted, sentence.text),
                n,
                position,
                sentence.text,
            )
            for n, source in enumerate(sources, 1)
            for position, sentence in enumerate(source.sentences)
        ]
        return _within_margins(
            _answers_for_questions(candidates),
            options.sentence_margin,
            options.source_margin,
            options.max_sentences,
        )

    def _by_words(self, question: str, sources: Sequence[ScoredChunk]) -> list[_Candidate]:
        """The sentences sharing the most words with the question, most first."""
        wanted = content_terms(question)
        candidates = [
            _Candidate(len(wanted & content_terms(sentence)) + 0.5 / n, n, position, sentence)
            for n, source in enumerate(sources, 1)
            for position, sentence in enumerate(split_sentences(source.text))
        ]
        if not candidates:
            return []
        ranked = sorted(candidates, key=lambda c: (-c.score, c.source, c.position))
        best = ranked[: self._options.max_sentences]
        # Keep sentences nearly as relevant as the best one, and always the best one.
        return [c for c in best if c.score >= max(1.0, 0.6 * best[0].score)] or best[:1]


def _within_words(ranked: list[_Candidate], most: int) -> list[_Candidate]:
    """``ranked``'s first sentence, then the next ones (in order) while the words fit."""
    kept, words = ranked[:1], len(ranked[0].text.split())
    for candidate in ranked[1:]:
        words += len(candidate.text.split())
        if words > most:
            break
        kept.append(candidate)
    return kept


def _within_margins(
    candidates: list[_Candidate], sentence_margin: float, source_margin: float, most: int
) -> list[_Candidate]:
    """At most ``most`` distinct sentences scoring within ``sentence_margin`` of the best, from
    sources whose best sentence is within ``source_margin`` of it, best first."""
    if not candidates:
        return []
    ranked = _distinct(sorted(candidates, key=lambda c: (-c.score, c.source, c.position)))
    best_of_source: dict[int, float] = {}
    for candidate in ranked:
        best_of_source.setdefault(candidate.source, candidate.score)
    top = ranked[0].score
    quoted_sources = {n for n, best in best_of_source.items() if best >= top - source_margin}
    chosen = [c for c in ranked if c.score >= top - sentence_margin and c.source in quoted_sources]
    return chosen[:most]


def _answers_for_questions(candidates: list[_Candidate]) -> list[_Candidate]:
    """A question in a source ("**Q: Can I have two mentors?**") can be the sentence closest
    to the asker's yet answers nothing: the sentence after it does, so that one is scored as the
    question was. (A list's lead-in, "You can claim if:", is left alone: gov.uk's answers are
    often exactly that, and lifting its first item lost 2.6 points of evidence quoted.)"""
    by_place = {(c.source, c.position): c for c in candidates}
    lifted: dict[tuple[int, int], float] = {}
    for c in candidates:
        following = by_place.get((c.source, c.position + 1))
        if asks(c.text) and following is not None:
            place = (following.source, following.position)
            lifted[place] = max(lifted.get(place, following.score), c.score)
    kept = [
        dataclasses.replace(c, score=lifted.get((c.source, c.position), c.score))
        for c in candidates
        if not asks(c.text)
    ]
    return kept or candidates


def _distinct(ranked: list[_Candidate]) -> list[_Candidate]:
    """``ranked`` without repeats of a sentence (pages repeat boilerplate), best kept."""
    seen: set[str] = set()
    kept = []
    for candidate in ranked:
        key = " ".join(candidate.text.casefold().split())
        if key not in seen:
            seen.add(key)
            kept.append(candidate)
    return kept


def _share(wanted: set[str], sentence: str) -> float:
    """The share of the question's meaningful words that ``sentence`` contains."""
    return len(wanted & content_terms(sentence)) / len(wanted) if wanted else 0.0
