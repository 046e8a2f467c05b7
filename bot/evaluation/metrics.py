"""Pure scoring functions: evidence matching, lexical correctness and the run summary."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence

from bot.evaluation.results import (
    AnswerSummary,
    CaseResult,
    ConversationSummary,
    CostSummary,
    RetrievalSummary,
    RunInfo,
    Summary,
)
from knowledge.terms import content_terms

# An answer is lexically correct when it holds this share of the expected answer's words.
LEXICAL_RECALL_BAR = 0.5

_EMPHASIS = re.compile(r"[*_`]+")
_MARKUP = re.compile(r"[#>|]+")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_LIST_MARK = re.compile(r"(?m)^\s*(?:[-+•]|\d+[.)])\s+")
_SPACE = re.compile(r"\s+")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-"})


def normalise(text: str) -> str:
    """Text as compared for evidence: no Markdown, one kind of quote, single spaces, lower case."""
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    text = _LINK.sub(r"\1", text)
    text = _LIST_MARK.sub(" ", text)
    text = _EMPHASIS.sub("", text)  # "**Harbour**," reads as "Harbour,"
    text = _MARKUP.sub(" ", text)
    return _SPACE.sub(" ", text).strip().casefold()


def holds_evidence(chunk_text: str, evidence: Sequence[str]) -> bool:
    """Whether the chunk contains at least one gold evidence sentence, verbatim."""
    haystack = normalise(chunk_text)
    return any(needle and needle in haystack for needle in (_needle(e) for e in evidence))


def _needle(sentence: str) -> str:
    # A sentence that ends by introducing a list ("...a meeting to set out:") is matched
    # without the colon, which a chunk boundary may separate from its list.
    return normalise(sentence).rstrip(":;,. ")


def lexically_correct(answer: str, expected: str) -> bool | None:
    """Whether the answer holds most of the expected answer's words; None if it has none."""
    wanted = content_terms(expected)
    if not wanted:
        return None
    return len(wanted & content_terms(answer)) / len(wanted) >= LEXICAL_RECALL_BAR


def has_tokens(answer: str, tokens: Sequence[str]) -> bool:
    """Whether every required token appears in the answer."""
    text = normalise(answer)
    return all(normalise(token) in text for token in tokens)


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def summarise(run: RunInfo, results: Sequence[CaseResult], k: int) -> Summary:
    """The run's figures from its per-question results."""
    return Summary(
        run=run,
        retrieval=_retrieval(results, k),
        answers=_answers(results),
        cost=_cost(results),
        conversation=_conversation(results, k),
    )


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _retrieval(results: Sequence[CaseResult], k: int) -> RetrievalSummary:
    answerable = [r for r in results if r.answerable]
    with_evidence = [r for r in answerable if r.checks_evidence]
    with_gold = [r for r in answerable if r.doc_recall is not None]
    ranked = [r for r in answerable if r.checks_evidence or r.gold_documents]
    return RetrievalSummary(
        k=k,
        evidence_hit_at_k=_mean(
            [float(r.evidence_rank is not None and r.evidence_rank <= k) for r in with_evidence]
        ),
        doc_recall_at_k=_mean([r.doc_recall for r in with_gold if r.doc_recall is not None]),
        mrr=_mean([1.0 / r.relevant_rank if r.relevant_rank else 0.0 for r in ranked]),
        questions_with_evidence=len(with_evidence),
        questions_with_gold_documents=len(with_gold),
        gold_document_hit_at_k=_mean(
            [float(r.gold_rank is not None and r.gold_rank <= k) for r in with_gold]
        ),
        evidence_hit_at_1=_mean([float(r.evidence_rank == 1) for r in with_evidence]),
        gold_document_hit_at_1=_mean([float(r.gold_rank == 1) for r in with_gold]),
    )


def _answers(results: Sequence[CaseResult]) -> AnswerSummary:
    judged = [r for r in results if r.answerable and r.correct is not None]
    citations = [c for r in results for c in r.citations if c.supported is not None]
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    answered = [r for r in results if r.answered]
    with_gold = [r for r in answerable if r.gold_documents]
    quoted = [r.evidence_quoted for r in answerable if r.evidence_quoted is not None]
    methods = sorted({r.judged_by for r in judged})
    return AnswerSummary(
        correctness=_mean([float(bool(r.correct)) for r in judged]),
        judged=len(judged),
        judged_by="+".join(methods),
        citation_precision=_mean([float(bool(c.supported)) for c in citations]),
        grounded_rate=_mean([float(r.answered) for r in answerable]),
        abstention_rate=_mean([float(r.outcome == "not_covered") for r in unanswerable]),
        tone_conformance=_mean([float(not r.tone_problems) for r in answered]),
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        cites_gold_document=_mean(
            [float(r.answered and any(c.gold_document for c in r.citations)) for r in with_gold]
        ),
        evidence_quoted=_mean([float(q) for q in quoted]),
        unsure_rate=_mean([float(r.answered and r.unsure) for r in answerable]),
        flagged_rate=_mean([float(r.outcome == "not_covered" or r.unsure) for r in unanswerable]),
    )


def _cost(results: Sequence[CaseResult]) -> CostSummary:
    count = max(len(results), 1)
    latencies = [r.latency_ms for r in results]
    total = sum(r.cost_usd for r in results)
    return CostSummary(
        latency_p50_ms=percentile(latencies, 0.5),
        latency_p95_ms=percentile(latencies, 0.95),
        prompt_tokens_per_question=sum(r.prompt_tokens for r in results) / count,
        completion_tokens_per_question=sum(r.completion_tokens for r in results) / count,
        cost_per_question_usd=total / count,
        cost_total_usd=total,
    )


def _conversation(results: Sequence[CaseResult], k: int) -> ConversationSummary:
    follow_ups = [r for r in results if r.follow_up and r.answerable]
    with_evidence = [r for r in follow_ups if r.checks_evidence]
    with_gold = [r.doc_recall for r in follow_ups if r.doc_recall is not None]
    paired = [r.new_topic_as_alone for r in results if r.new_topic_as_alone is not None]
    return ConversationSummary(
        follow_ups=len(follow_ups),
        follow_up_evidence_hit_at_k=_mean(
            [float(r.evidence_rank is not None and r.evidence_rank <= k) for r in with_evidence]
        ),
        follow_up_doc_recall_at_k=_mean(with_gold),
        new_topics=len(paired),
        new_topics_as_alone=_mean([float(same) for same in paired]),
    )
