"""The final order of the hybrid search's candidates: a fitted model over what was measured.

Fusing ranks (``retrieval.rescored``) weighs each list the same for every question and knows
nothing of the words a passage shares with the question. A casual question ("do i log sick
days anywhere?") is often closest in meaning to a passage on the same topic that does not
answer it, while the passage that does shares its rare words. So the fused top 20 are ordered
by a logistic model over each candidate's signals, measured against the other candidates:

- where the vector, full-text and sentence lists placed it, and its own similarity;
- its best and second-best sentence, and how far they are behind the best of the pool;
- its document: how many of the pool's passages it has, and its best sentence;
- the question's words in its headings and in its text, and the share of the question's words
  that are rare in the pool (weighted by how few candidates have them) it contains.

Its weights were fitted with ``supportbot eval --fit-ranking`` on the development set and are
reported on the others (README, "Evaluation").
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

from knowledge.query_text import search_text
from knowledge.terms import content_terms
from knowledge.types import ScoredChunk
from knowledge.weights import LinearModel

# The signals in the order of ``candidate_signals``' rows and of a model's weights.
SIGNALS = (
    "vector_list",
    "text_list",
    "sentence_list",
    "similarity",
    "best_sentence",
    "second_sentence",
    "best_sentence_place",
    "document_passages",
    "document_best_sentence",
    "best_sentence_behind",
    "similarity_behind",
    "heading_words",
    "text_words",
    "rare_words",
)
# A place p in a list counts 1 / (_PLACE + p), as in the fusion.
_PLACE = 10


@dataclass(frozen=True)
class RankingModel(LinearModel):
    """A logistic model over ``SIGNALS`` (SUPPORTBOT_RANKING_MODEL): candidates are ordered by
    its score, best first."""

    signals: ClassVar[tuple[str, ...]] = SIGNALS
    kind: ClassVar[str] = "ranking"

    def ordered(self, question: str, pool: Sequence[ScoredChunk]) -> list[ScoredChunk]:
        """``pool`` best first, each with the model's score (a log-odds) as its ``score``;
        nothing added, nothing dropped; ties keep the pool's order."""
        scores = [self.score(row) for row in candidate_signals(question, pool)]
        order = sorted(range(len(pool)), key=lambda i: -scores[i])
        return [replace(pool[i], score=scores[i]) for i in order]


def candidate_signals(question: str, pool: Sequence[ScoredChunk]) -> list[tuple[float, ...]]:
    """Each candidate's signals (in ``SIGNALS`` order), measured against the whole pool."""
    if not pool:
        return []
    wanted = content_terms(search_text(question))
    headings = [content_terms(" ".join((c.title, *c.heading_path))) for c in pool]
    texts = [content_terms(c.text) for c in pool]
    # A word most candidates share is the topic; one few of them have tells them apart.
    holders = Counter(t for h, b in zip(headings, texts, strict=True) for t in (h | b) & wanted)
    rarity = {t: math.log((len(pool) + 1) / (holders[t] + 0.5)) for t in wanted}
    all_rarity = sum(rarity.values()) or 1.0
    best = [c.best_sentence_similarity for c in pool]
    second = [_second_sentence(c) for c in pool]
    by_sentence = sorted(range(len(pool)), key=lambda i: -best[i])
    sentence_place = {i: place for place, i in enumerate(by_sentence, 1)}
    passages = Counter(c.document_id for c in pool)
    document_best: dict[str, float] = {}
    for c, b in zip(pool, best, strict=True):
        document_best[c.document_id] = max(b, document_best.get(c.document_id, -1.0))
    top_sentence = max(best)
    top_similarity = max(c.similarity for c in pool)
    rows: list[tuple[float, ...]] = []
    for i, c in enumerate(pool):
        ranks = c.ranks
        found = wanted & (headings[i] | texts[i])
        rows.append(
            (
                _listed(ranks.vector if ranks else None),
                _listed(ranks.text if ranks else None),
                _listed(ranks.sentence if ranks else None),
                c.similarity,
                best[i],
                second[i],
                _listed(sentence_place[i]),
                math.log(passages[c.document_id]),
                document_best[c.document_id],
                best[i] - top_sentence,
                c.similarity - top_similarity,
                _share(wanted, headings[i]),
                _share(wanted, texts[i]),
                sum(rarity[t] for t in found) / all_rarity,
            )
        )
    return rows


def _listed(place: int | None) -> float:
    return 1.0 / (_PLACE + place) if place else 0.0


def _second_sentence(chunk: ScoredChunk) -> float:
    ranked = sorted((s.similarity for s in chunk.sentences), reverse=True)
    return ranked[1] if len(ranked) > 1 else 0.0


def _share(wanted: set[str], found: set[str]) -> float:
    return len(wanted & found) / len(wanted) if wanted else 0.0


# Fitted for the bundled all-MiniLM-L6-v2 with `supportbot eval
# bot/evaluation/sets/sourcegraph-casual --corpus ../shared/eval/sourcegraph-handbook/docs
# --fit-ranking` (README, "Evaluation").
FITTED_FOR_MINILM = RankingModel(
    weights=(
        0.5793,
        11.8953,
        80.3335,
        0.5208,
        -0.3988,
        1.2306,
        -69.0572,
        -0.1829,
        1.2249,
        11.3694,
        13.6517,
        -2.5326,
        0.5528,
        2.9829,
    ),
    bias=-3.1748,
)
