"""Is a question covered by its sources? A decision from several signals, not one threshold.

One cosine threshold on the best chunk cannot tell "What is the wifi password in the Lisbon
office?" (close to the office and password pages, answered by neither) from a casual question
the handbook does answer. The decision weighs what retrieval already measured:

- ``best_chunk``: the best passage's similarity to the question;
- ``best_sentence``: the best single sentence's similarity (an answer is usually one sentence);
- ``terms_found``: the share of the question's meaningful words that the sources contain, the
  rarest counting most ("Lisbon" and "wifi" found nowhere give a question away);
- ``margin``: how far the best document's best sentence is ahead of the next document's.

A logistic model combines them. Its weights were fitted with ``supportbot eval --fit-decline``
on the development set and are reported on the others (README, "Declining").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from knowledge.terms import content_terms
from knowledge.types import ScoredChunk
from knowledge.weights import parse_values

# The signals in the order of ``CoverageSignals.as_vector`` and of a model's weights.
SIGNALS = ("best_chunk", "best_sentence", "terms_found", "margin")


@dataclass(frozen=True)
class CoverageSignals:
    """What the decision weighs, measured on one question's sources."""

    best_chunk: float
    best_sentence: float
    terms_found: float
    margin: float

    def as_vector(self) -> tuple[float, ...]:
        return (self.best_chunk, self.best_sentence, self.terms_found, self.margin)


class CoverageDecision(Protocol):
    """Decides from a question's coverage signals whether its sources answer it."""

    def covers(self, signals: CoverageSignals) -> bool: ...


@dataclass(frozen=True)
class MinimumSimilarity:
    """The single threshold: the best passage must be at least this similar to the question.
    Used when the operator sets one, and with embedders no model was fitted for."""

    min_similarity: float = 0.35

    def covers(self, signals: CoverageSignals) -> bool:
        return signals.best_chunk >= self.min_similarity


@dataclass(frozen=True)
class CoverageModel:
    """A logistic model over the signals: covered when the probability reaches ``threshold``."""

    weights: tuple[float, float, float, float]
    bias: float
    threshold: float = 0.5

    def probability(self, signals: CoverageSignals) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, signals.as_vector(), strict=True))
        return 1.0 / (1.0 + math.exp(-z))

    def covers(self, signals: CoverageSignals) -> bool:
        return self.probability(signals) >= self.threshold

    def as_setting(self) -> str:
        """The model as ``parse`` reads it (the value of SUPPORTBOT_DECLINE_MODEL)."""
        weights = " ".join(f"{n}={w:g}" for n, w in zip(SIGNALS, self.weights, strict=True))
        return f"{weights} bias={self.bias:g} threshold={self.threshold:g}"

    @classmethod
    def parse(cls, text: str) -> CoverageModel:
        """A model from ``name=number`` pairs: the four signals' weights, ``bias`` and
        ``threshold`` (as ``supportbot eval --fit-decline`` prints them); ValueError if one is
        missing, unknown or not a number."""
        values = parse_values(text, (*SIGNALS, "bias", "threshold"))
        if not 0 < values["threshold"] < 1:
            raise ValueError("threshold must be between 0 and 1 (a probability)")
        weights = (values[SIGNALS[0]], values[SIGNALS[1]], values[SIGNALS[2]], values[SIGNALS[3]])
        return cls(weights, values["bias"], values["threshold"])


def coverage_signals(question: str, sources: Sequence[ScoredChunk]) -> CoverageSignals:
    """The signals for ``question`` and its sources (best first); all zero without sources."""
    if not sources:
        return CoverageSignals(0.0, 0.0, 0.0, 0.0)
    by_document: dict[str, float] = {}
    for source in sources:
        best = source.best_sentence_similarity
        by_document[source.document_id] = max(best, by_document.get(source.document_id, -1.0))
    ranked = sorted(by_document.values(), reverse=True)
    margin = ranked[0] - ranked[1] if len(ranked) > 1 else ranked[0]
    wanted = content_terms(question)
    found = set().union(
        *(content_terms(" ".join((s.title, *s.heading_path, s.text))) for s in sources)
    )
    return CoverageSignals(
        best_chunk=max(s.similarity for s in sources),
        best_sentence=ranked[0],
        terms_found=len(wanted & found) / len(wanted) if wanted else 1.0,
        margin=margin,
    )


# Fitted for the bundled all-MiniLM-L6-v2 (its similarities mean something else under another
# model) with `supportbot eval bot/evaluation/sets/sourcegraph-casual --corpus
# ../shared/eval/sourcegraph-handbook/docs --fit-decline` (README, "Declining").
FITTED_FOR_MINILM = CoverageModel(weights=(5.77, 5.655, 0.355, 1.538), bias=-6.188, threshold=0.256)
