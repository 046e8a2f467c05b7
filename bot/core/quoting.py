"""Which sentences of the sources answer: a fitted model the offline writer quotes by.

A sentence's similarity to the question is the main sign that it answers, but not the only one:
the sentence after a FAQ's question answers it, a sentence holding the question's rare words
("BambooHR", "Lisbon") is likelier than one only on the topic, and a sentence of the source the
fitted ranking put first is likelier than one of the fifth. A logistic model weighs, for each
sentence of the sources:

- its similarity to the question, and how far it is behind the best sentence's;
- the share of the question's words it holds, and of the words that are rare among the
  sentences (weighted by how few have them);
- its source's ranking score and how far that is behind the first source's, and its place;
- whether the sentence before it asks a question, its place in its passage and its length;
- its passage's best sentence, and how far it is behind it.

Its weights were fitted with ``supportbot eval --fit-quoting`` on the development set and are
reported on the others (README, "Evaluation").
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from knowledge.query_text import search_text
from knowledge.terms import content_terms
from knowledge.types import ScoredChunk
from knowledge.weights import LinearModel

# The signals in the order of ``sentence_signals``' rows and of a model's weights.
SIGNALS = (
    "similarity",
    "similarity_behind",
    "question_words",
    "rare_words",
    "source_score",
    "source_behind",
    "source_place",
    "after_a_question",
    "place_in_passage",
    "length",
    "passage_best",
    "passage_behind",
)


@dataclass(frozen=True)
class SourceSentence:
    """One sentence of the sources: its source's citation number (1-based), its place in that
    source, and its text."""

    source: int
    position: int
    text: str


@dataclass(frozen=True)
class QuotingModel(LinearModel):
    """A logistic model over ``SIGNALS`` (SUPPORTBOT_QUOTING_MODEL): how likely a sentence is
    to answer the question."""

    signals: ClassVar[tuple[str, ...]] = SIGNALS
    kind: ClassVar[str] = "quoting"

    def scored(
        self, question: str, sources: Sequence[ScoredChunk]
    ) -> list[tuple[float, SourceSentence]]:
        """Every sentence of ``sources`` with its score (a log-odds), in reading order."""
        return [
            (self.score(row), sentence) for sentence, row in sentence_signals(question, sources)
        ]


def sentence_signals(
    question: str, sources: Sequence[ScoredChunk]
) -> list[tuple[SourceSentence, tuple[float, ...]]]:
    """Each sentence of ``sources`` with its signals (in ``SIGNALS`` order)."""
    sentences = [
        (n, position, sentence, source)
        for n, source in enumerate(sources, 1)
        for position, sentence in enumerate(source.sentences)
    ]
    if not sentences:
        return []
    wanted = content_terms(search_text(question))
    terms = [content_terms(s.text) for _, _, s, _ in sentences]
    # A word most sentences share is the topic; one few of them have tells them apart.
    holders = Counter(t for found in terms for t in found & wanted)
    rarity = {t: math.log((len(sentences) + 1) / (holders[t] + 0.5)) for t in wanted}
    all_rarity = sum(rarity.values()) or 1.0
    top_similarity = max(s.similarity for _, _, s, _ in sentences)
    top_source = max(source.score for source in sources)
    rows: list[tuple[SourceSentence, tuple[float, ...]]] = []
    for (n, position, sentence, source), found in zip(sentences, terms, strict=True):
        passage_best = source.best_sentence_similarity
        before = source.sentences[position - 1].text if position else ""
        signals = (
            sentence.similarity,
            sentence.similarity - top_similarity,
            len(wanted & found) / len(wanted) if wanted else 0.0,
            sum(rarity[t] for t in found & wanted) / all_rarity,
            source.score,
            source.score - top_source,
            1.0 / n,
            1.0 if asks(before) else 0.0,
            1.0 / (1 + position),
            math.log(len(sentence.text) + 1),
            passage_best,
            sentence.similarity - passage_best,
        )
        rows.append((SourceSentence(n, position, sentence.text), signals))
    return rows


def asks(sentence: str) -> bool:
    """Whether ``sentence`` is a question (a FAQ's "**Q: Can I have two mentors?**")."""
    return sentence.rstrip(" *_").endswith("?")


# Fitted for the bundled all-MiniLM-L6-v2 and its fitted ranking (the source scores are the
# ranking's) with `supportbot eval bot/evaluation/sets/sourcegraph-casual --corpus
# ../shared/eval/sourcegraph-handbook/docs --fit-quoting` (README, "Evaluation").
FITTED_FOR_MINILM = QuotingModel(
    weights=(
        2.54,
        2.8464,
        0.47,
        2.0395,
        0.2664,
        0.4186,
        0.2066,
        1.1109,
        1.0935,
        0.2748,
        -1.0062,
        6.15,
    ),
    bias=-4.7465,
)
