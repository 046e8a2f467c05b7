"""Scoring: evidence matching, lexical correctness, percentiles, the run summary and the judge."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from bot.core.types import Turn
from bot.evaluation.dataset import EvalCase
from bot.evaluation.judge import LexicalJudge
from bot.evaluation.metrics import (
    LEXICAL_RECALL_BAR,
    has_tokens,
    holds_evidence,
    lexically_correct,
    normalise,
    percentile,
    summarise,
)
from bot.evaluation.results import (
    AnswerSummary,
    CaseResult,
    CitedSource,
    CostSummary,
    RetrievalSummary,
    RunInfo,
)
from bot.evaluation.runner import unrelated_predecessors

# --- normalise and holds_evidence ---

EVIDENCE = "Give notice of at least twice the length of the leave you are booking."


def test_normalise() -> None:
    assert normalise("  **Bold**  and\n\n_italic_  ") == "bold and italic"
    assert normalise("See [the policy](https://hb.example/leave) now") == "see the policy now"
    assert normalise("- one\n2. two\n3) three\n• four") == "one two three four"
    assert normalise("“Quoted” and ‘single’ — dash – en") == "\"quoted\" and 'single' - dash - en"
    assert normalise("ＦＵＬＬwidth") == "fullwidth"
    assert normalise("") == ""


@pytest.mark.parametrize(
    "chunk",
    [
        EVIDENCE,
        f"Booking leave\n\n- {EVIDENCE}\n- Your manager replies within 5 days.",
        f"1. {EVIDENCE}",
        "You must **give notice** of at least twice the length of the leave you are booking.",
        "Give notice of at least [twice the length](https://hb.example/x) of the leave you are "
        "booking.",
        "GIVE NOTICE of at least twice\n   the length of the\tleave you are booking",
        "Before that: give   notice of at least twice the length of the leave you are booking. "
        "Then wait.",
    ],
)
def test_evidence_matches_across_formatting(chunk: str) -> None:
    assert holds_evidence(chunk, [EVIDENCE]) is True


def test_curly_and_straight_quotes_match() -> None:
    chunk = "If you’re unsure, ask your manager’s “buddy” first."
    assert holds_evidence(chunk, ["If you're unsure, ask your manager's \"buddy\" first."]) is True
    straight = "If you're unsure, ask your manager's \"buddy\" first."
    assert holds_evidence(straight, ["If you’re unsure, ask your manager’s “buddy” first."]) is True


def test_sentence_introducing_a_list_matches_without_its_colon() -> None:
    sentence = "The court will send you a date for a meeting to set out:"
    assert holds_evidence("The court will send you a date for a meeting to set out", [sentence])
    assert holds_evidence(
        "The court will send you a date for a meeting to set out:\n\n- the timetable\n- who "
        "attends",
        [sentence],
    )
    assert holds_evidence(
        "The court will send you a date for a meeting to set out\n- the timetable", [sentence]
    )


def test_chunk_without_the_sentence_does_not_match() -> None:
    chunk = "Give notice of at least the length of the leave you are booking."
    assert holds_evidence(chunk, [EVIDENCE]) is False
    assert holds_evidence("Leave is booked in Harbour.", [EVIDENCE]) is False
    # The sentence is longer than the chunk, which holds only part of it.
    assert holds_evidence("Give notice of at least twice", [EVIDENCE]) is False


def test_any_one_evidence_sentence_is_enough() -> None:
    chunk = "Your manager approves or declines within 5 working days."
    evidence = [EVIDENCE, "Your manager approves or declines within 5 working days."]
    assert holds_evidence(chunk, evidence) is True
    assert holds_evidence(chunk, [EVIDENCE]) is False


@pytest.mark.parametrize("evidence", [[], [""], ["   "], [":"], ["**"], [".", ""]])
def test_empty_evidence_never_matches(evidence: list[str]) -> None:
    assert holds_evidence("Anything at all: ** . text", evidence) is False
    assert holds_evidence("", evidence) is False


# --- lexically_correct and has_tokens ---


def test_recall_bar_is_half() -> None:
    assert LEXICAL_RECALL_BAR == 0.5


def test_lexically_correct_at_and_above_the_bar() -> None:
    expected = "Staff receive 25 days annual leave"  # staff, receive, 25, days, annual, leave
    assert lexically_correct("You receive 25 days annual leave.", expected) is True  # 5/6
    assert lexically_correct("Staff get 25 days.", expected) is True  # 3/6: exactly the bar
    assert lexically_correct(expected, expected) is True


def test_lexically_correct_below_the_bar() -> None:
    expected = "Staff receive 25 days annual leave"
    assert lexically_correct("You get 25 days.", expected) is False  # 2/6
    assert lexically_correct("Ask your manager.", expected) is False  # 0/6
    assert lexically_correct("", expected) is False


def test_lexically_correct_uses_stems_and_ignores_case() -> None:
    assert lexically_correct("BOOKING REQUESTS", "booked request") is True


def test_lexically_correct_without_content_words() -> None:
    assert lexically_correct("Yes, you can.", "Yes") is not None  # "yes" is a content word
    assert lexically_correct("anything", "It is what it is.") is None
    assert lexically_correct("anything", "") is None
    assert lexically_correct("anything", "a . ?") is None


def test_has_tokens() -> None:
    answer = "You get **3 Months** of probation and 60 cents per km."
    assert has_tokens(answer, ["3 months"]) is True
    assert has_tokens(answer, ["3 months", "60 cents"]) is True
    assert has_tokens(answer, ["3 months", "6 months"]) is False
    assert has_tokens(answer, ["90 days"]) is False
    assert has_tokens("three months", ["3 months"]) is False


# --- percentile ---


def test_percentile_nearest_rank() -> None:
    values = [float(n) for n in range(20, 0, -1)]  # unordered on purpose
    assert percentile(values, 0.5) == 10.0
    assert percentile(values, 0.95) == 19.0
    assert percentile(values, 1.0) == 20.0
    assert percentile(values, 0.0) == 1.0
    assert percentile(values, 0.01) == 1.0
    assert percentile([812.4], 0.95) == 812.4
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0


def test_percentile_of_nothing() -> None:
    assert percentile([], 0.5) == 0.0
    assert percentile([], 0.95) == 0.0


# --- summarise ---

RUN = RunInfo(
    dataset="sample",
    corpus="knowledge/sample_kb/docs",
    questions=7,
    with_context=True,
    embedding_model="hashing",
    answer_model="offline",
    chunks=120,
)


def cited(supported: bool | None, gold_document: bool | None = None) -> CitedSource:
    url = "https://hb.test/leave"
    return CitedSource(1, "Leave Policy", "Annual leave", url, supported, gold_document)


def result(**changes: Any) -> CaseResult:
    base = CaseResult(
        case_id="case",
        asked="How many days of leave do I get?",
        answerable=True,
        expected_answer="25 days a year.",
        gold_documents=(),
        retrieved=(),
        evidence_rank=None,
        gold_rank=None,
        doc_recall=None,
        checks_evidence=False,
        answer="You get 25 days a year [1].",
        outcome="answered",
        citations=(),
        correct=None,
        judged_by="",
        tone_problems=(),
        latency_ms=0.0,
        prompt_tokens=0,
        completion_tokens=0,
        cost_usd=0.0,
    )
    return dataclasses.replace(base, **changes)


def mixed_results() -> list[CaseResult]:
    gold = ("people/leave.md",)
    return [
        # Evidence at rank 2 (a hit at k=3), though a gold document is at rank 1.
        result(
            case_id="r1",
            gold_documents=gold,
            checks_evidence=True,
            evidence_rank=2,
            gold_rank=1,
            doc_recall=1.0,
            correct=True,
            judged_by="tokens",
            citations=(cited(True, gold_document=True), cited(False, gold_document=False)),
            evidence_quoted=True,
        ),
        # Evidence only at rank 4: a miss at k=3.
        result(
            case_id="r2",
            gold_documents=gold,
            checks_evidence=True,
            evidence_rank=4,
            gold_rank=1,
            doc_recall=0.5,
            correct=False,
            judged_by="lexical",
            citations=(cited(None, gold_document=False),),
            tone_problems=("7 sentences (max 5)",),
            evidence_quoted=False,
        ),
        # No evidence sentences: ranked by its gold document, and the bot declined.
        result(
            case_id="r3",
            gold_documents=gold,
            gold_rank=2,
            doc_recall=0.5,
            outcome="not_covered",
            tone_problems=("ignored: not answered",),
        ),
        # Evidence never retrieved: reciprocal rank 0 even though a gold document was.
        result(
            case_id="r4",
            gold_documents=gold,
            checks_evidence=True,
            gold_rank=3,
            doc_recall=0.0,
            outcome="unavailable",
        ),
        # Neither evidence nor gold documents: not in the retrieval figures. Answered unsure.
        result(case_id="r5", correct=True, judged_by="lexical", unsure=True),
        # Unanswerable cases stay out of retrieval and correctness, whatever they hold.
        result(
            case_id="r6",
            answerable=False,
            gold_documents=gold,
            checks_evidence=True,
            evidence_rank=1,
            gold_rank=1,
            doc_recall=1.0,
            outcome="not_covered",
            correct=True,
            judged_by="llm:gpt",
            citations=(cited(True),),
        ),
        # Answered, but saying the quotes may not answer it.
        result(case_id="r7", answerable=False, correct=False, judged_by="llm:gpt", unsure=True),
    ]


def with_costs(results: list[CaseResult]) -> list[CaseResult]:
    return [
        dataclasses.replace(
            r,
            latency_ms=100.0 * n,
            prompt_tokens=100 * n,
            completion_tokens=10 * n,
            cost_usd=0.01 * n,
        )
        for n, r in enumerate(results, 1)
    ]


def test_summary_retrieval() -> None:
    summary = summarise(RUN, mixed_results(), k=3)

    assert summary.run == RUN
    retrieval = summary.retrieval
    assert retrieval.k == 3
    assert retrieval.questions_with_evidence == 3  # r1, r2, r4
    assert retrieval.evidence_hit_at_k == pytest.approx(1 / 3)
    assert retrieval.questions_with_gold_documents == 4  # r1 to r4
    assert retrieval.doc_recall_at_k == pytest.approx((1.0 + 0.5 + 0.5 + 0.0) / 4)
    # r1 by evidence (1/2), r2 by evidence (1/4), r3 by gold document (1/2), r4 missing (0).
    assert retrieval.mrr == pytest.approx((0.5 + 0.25 + 0.5 + 0.0) / 4)
    # A gold document at rank 3 or better for r1 to r4.
    assert retrieval.gold_document_hit_at_k == 1.0
    assert summarise(RUN, mixed_results(), k=2).retrieval.gold_document_hit_at_k == 0.75
    # The first source: evidence for none of r1, r2, r4; a gold document for r1 and r2.
    assert retrieval.evidence_hit_at_1 == 0.0
    assert retrieval.gold_document_hit_at_1 == 0.5


def test_evidence_hit_uses_rank_at_most_k() -> None:
    cases = [
        result(checks_evidence=True, evidence_rank=5, doc_recall=1.0),
        result(checks_evidence=True, evidence_rank=6, doc_recall=1.0),
    ]
    assert summarise(RUN, cases, k=5).retrieval.evidence_hit_at_k == 0.5
    assert summarise(RUN, cases, k=6).retrieval.evidence_hit_at_k == 1.0
    assert summarise(RUN, cases, k=4).retrieval.evidence_hit_at_k == 0.0


def test_summary_answers() -> None:
    answers = summarise(RUN, mixed_results(), k=3).answers

    assert answers == AnswerSummary(
        correctness=answers.correctness,
        judged=3,  # r1, r2, r5
        judged_by="lexical+tokens",
        citation_precision=answers.citation_precision,
        grounded_rate=0.6,  # r1, r2, r5 of five answerable
        abstention_rate=0.5,  # r6 of two unanswerable
        tone_conformance=0.75,  # r2 fails among r1, r2, r5, r7
        answerable=5,
        unanswerable=2,
        cites_gold_document=0.25,  # r1 of r1 to r4 (r2 cites another document)
        evidence_quoted=0.5,  # r1 of r1 and r2
        unsure_rate=0.2,  # r5 of five answerable
        flagged_rate=1.0,  # r6 declined, r7 marked unsure
    )
    assert answers.correctness == pytest.approx(2 / 3)
    # r1's two and r6's one; r2's unchecked citation is left out.
    assert answers.citation_precision == pytest.approx(2 / 3)


def test_summary_cost() -> None:
    cost = summarise(RUN, with_costs(mixed_results()), k=3).cost

    assert cost.latency_p50_ms == 400.0
    assert cost.latency_p95_ms == 700.0
    assert cost.prompt_tokens_per_question == 400.0  # 2800 / 7
    assert cost.completion_tokens_per_question == 40.0  # 280 / 7
    assert cost.cost_total_usd == pytest.approx(0.28)
    assert cost.cost_per_question_usd == pytest.approx(0.04)


def test_summary_without_unanswerable_or_evidence() -> None:
    cases = [
        result(gold_documents=("a.md",), gold_rank=1, doc_recall=1.0, correct=True),
        result(gold_documents=("a.md",), doc_recall=0.0, outcome="not_covered"),
    ]

    summary = summarise(RUN, cases, k=5)

    assert summary.retrieval == RetrievalSummary(
        k=5,
        evidence_hit_at_k=None,
        doc_recall_at_k=0.5,
        mrr=0.5,
        questions_with_evidence=0,
        questions_with_gold_documents=2,
        gold_document_hit_at_k=0.5,
        evidence_hit_at_1=None,
        gold_document_hit_at_1=0.5,
    )
    assert summary.answers.abstention_rate is None
    assert summary.answers.unanswerable == 0
    assert summary.answers.citation_precision is None
    assert summary.answers.grounded_rate == 0.5
    assert summary.answers.tone_conformance == 1.0


def test_summary_of_no_results() -> None:
    summary = summarise(RUN, [], k=5)

    assert summary.retrieval == RetrievalSummary(5, None, None, None, 0, 0)
    assert summary.answers == AnswerSummary(None, 0, "", None, None, None, None, 0, 0)
    assert summary.cost == CostSummary(0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def test_nothing_answered_has_no_tone_figure() -> None:
    cases = [result(outcome="not_covered", tone_problems=("x",)), result(outcome="unavailable")]

    answers = summarise(RUN, cases, k=5).answers

    assert answers.tone_conformance is None
    assert answers.grounded_rate == 0.0
    assert answers.correctness is None
    assert answers.judged == 0


# --- LexicalJudge ---


async def test_required_tokens_decide_when_present() -> None:
    judge = LexicalJudge()
    assert judge.name == "lexical"
    expected = "The probation period for staff at grade N1 to N3 is 3 months."
    # Tokens present: correct, though the words barely overlap.
    assert await judge.correct("Q?", expected, "It is 3 months.", ("3 months",)) is True
    # A token missing: wrong, though every expected word is there.
    assert await judge.correct("Q?", expected, expected, ("6 months",)) is False
    assert await judge.correct("Q?", expected, "3 months, N1", ("3 months", "N3")) is False
    # Tokens decide even for a bare yes/no reference.
    assert await judge.correct("Q?", "Yes.", "Yes, within 10 days.", ("10 days",)) is True


@pytest.mark.parametrize("expected", ["yes", "No", "Yes.", "  NO.  ", "", "   "])
async def test_bare_yes_or_no_is_not_judged(expected: str) -> None:
    judge = LexicalJudge()
    assert await judge.correct("Can I?", expected, "Yes, you can.", ()) is None
    assert await judge.correct("Can I?", expected, "No.", ()) is None


async def test_otherwise_lexical() -> None:
    judge = LexicalJudge()
    expected = "Staff receive 25 days annual leave"
    assert await judge.correct("Q?", expected, "You receive 25 days annual leave.", ()) is True
    assert await judge.correct("Q?", expected, "Ask your manager.", ()) is False
    assert await judge.correct("Q?", "Yes, within 10 days.", "Within 10 days.", ()) is True
    assert await judge.correct("Q?", "It is what it is.", "Anything.", ()) is None


def test_emphasis_next_to_punctuation_still_matches() -> None:
    chunk = "Book it in **Harbour**, then tell your `manager`."
    assert holds_evidence(chunk, ["Book it in Harbour, then tell your manager."])


def test_conversation_figures_count_follow_ups_and_new_topics_apart() -> None:
    results = [
        result(case_id="f1", follow_up=True, checks_evidence=True, evidence_rank=1, doc_recall=1.0),
        result(case_id="f2", follow_up=True, checks_evidence=True, evidence_rank=5, doc_recall=0.0),
        result(case_id="n1", new_topic_as_alone=True),
        result(case_id="n2", new_topic_as_alone=True),
        result(case_id="n3", new_topic_as_alone=False),
        result(case_id="alone"),
    ]
    conversation = summarise(RUN, results, k=3).conversation
    assert (conversation.follow_ups, conversation.new_topics) == (2, 3)
    assert conversation.follow_up_evidence_hit_at_k == 0.5
    assert conversation.follow_up_doc_recall_at_k == 0.5
    assert conversation.new_topics_as_alone == pytest.approx(2 / 3)
    assert summarise(RUN, [result()], k=3).conversation.new_topics_as_alone is None


def test_results_written_before_the_conversation_figures_still_load() -> None:
    written = result().to_json()
    del written["follow_up"], written["new_topic_as_alone"]
    assert CaseResult.from_json(written) == result()


def test_a_question_is_paired_with_the_closest_earlier_one_on_other_documents() -> None:
    def case(case_id: str, *gold: str, history: bool = False) -> EvalCase:
        turns = (Turn("user", "earlier"),) if history else ()
        return EvalCase(id=case_id, question=case_id, gold_documents=gold, history=turns)

    cases = [
        case("leave-1", "leave.md"),
        case("expenses", "expenses.md"),
        case("leave-2", "leave.md"),
        case("follow-up", "leave.md", history=True),
        case("no-gold"),
    ]
    paired = {k: v.id for k, v in unrelated_predecessors(cases).items()}
    assert paired == {"expenses": "leave-1", "leave-2": "expenses"}
