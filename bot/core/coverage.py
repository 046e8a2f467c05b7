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

Similarities cannot tell every uncovered question from a covered one, so the decision has three
outcomes: covered, not covered (declined), and between the two "unsure": the sources are
quoted, but the answer says first that they may not answer the question. A covered question
wrongly declined loses its answer; wrongly marked unsure it only gets a warning.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol, Self

from knowledge.terms import content_terms
from knowledge.types import ScoredChunk
from knowledge.weights import LinearModel, parse_values

Coverage = Literal["covered", "unsure", "not_covered"]

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

    def assess(self, signals: CoverageSignals) -> Coverage: ...


@dataclass(frozen=True)
class MinimumSimilarity:
    """The single threshold: the best passage must be at least this similar to the question.
    Used when the operator sets one, and with embedders no model was fitted for."""

    min_similarity: float = 0.35

    def assess(self, signals: CoverageSignals) -> Coverage:
        return "covered" if signals.best_chunk >= self.min_similarity else "not_covered"


@dataclass(frozen=True)
class CoverageModel(LinearModel):
    """A logistic model over the signals: not covered below the probability ``threshold``;
    unsure from there up to ``sure`` (when set), covered from ``sure`` on."""

    signals: ClassVar[tuple[str, ...]] = SIGNALS
    kind: ClassVar[str] = "decline"

    threshold: float = 0.5
    sure: float | None = None

    def probability(self, signals: CoverageSignals) -> float:
        return 1.0 / (1.0 + math.exp(-self.score(signals.as_vector())))

    def assess(self, signals: CoverageSignals) -> Coverage:
        probability = self.probability(signals)
        if probability < self.threshold:
            return "not_covered"
        return "unsure" if self.sure is not None and probability < self.sure else "covered"

    def as_setting(self) -> str:
        """The model as ``parse`` reads it (the value of SUPPORTBOT_DECLINE_MODEL)."""
        sure = "" if self.sure is None else f" sure={self.sure:g}"
        return f"{super().as_setting()} threshold={self.threshold:g}{sure}"

    @classmethod
    def parse(cls, text: str) -> Self:
        """A model from ``name=number`` pairs: the four signals' weights, ``bias``,
        ``threshold`` and optionally ``sure`` (as ``supportbot eval --fit-decline`` prints
        them); ValueError if one is missing, unknown or not a number."""
        values = parse_values(text, (*SIGNALS, "bias", "threshold"), optional=("sure",))
        if not 0 < values["threshold"] < 1:
            raise ValueError("threshold must be between 0 and 1 (a probability)")
        sure = values.get("sure")
        if sure is not None and not values["threshold"] <= sure < 1:
            raise ValueError("sure must be a probability from threshold up to 1")
        weights = tuple(values[n] for n in SIGNALS)
        return cls(weights, values["bias"], values["threshold"], sure)


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
# ../shared/eval/sourcegraph-handbook/docs --fit-decline` (README, "Declining"); ``sure`` was
# set by the same rule on these weights, so that 24 of the set's 33 uncovered questions are
# declined or marked unsure.
FITTED_FOR_MINILM = CoverageModel(
    weights=(5.77, 5.655, 0.355, 1.538), bias=-6.188, threshold=0.256, sure=0.467
)
