"""House-tone checks and the rendering of an evaluation run (terminal table and HTML page)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from bot.core.messages import offline_answer
from bot.evaluation.html_report import html_report
from bot.evaluation.report import summary_table
from bot.evaluation.results import (
    AnswerSummary,
    CaseResult,
    CitedSource,
    CostSummary,
    RetrievalSummary,
    RetrievedSource,
    RunInfo,
    Summary,
)
from bot.evaluation.tone import tone_problems

SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"

# --- tone ---

GOOD_ANSWER = (
    "You get 25 days of annual leave a year, plus bank holidays [1]. "
    "Book two weeks off at least 4 weeks ahead, and ask your manager if you need an "
    "exception [2]."
)


def test_offline_writer_output_conforms() -> None:
    answer = offline_answer(
        [
            "Full-time staff get 25 days of annual leave each year. [1]",
            "Part-time staff get a pro-rata share of the full-time entitlement. [1]",
            "Give notice of at least twice the length of the leave you are booking. [2]",
            "Your manager approves leave requests in the HR system within five days. [3]",
        ]
    )
    assert tone_problems(answer) == ()
    assert tone_problems(offline_answer([])) == ()


def test_short_cited_answer_conforms() -> None:
    assert tone_problems(GOOD_ANSWER) == ()
    steps = "To claim a meal:\n\n1. Keep the receipt [1].\n2. Upload it within 30 days [2]."
    assert tone_problems(steps) == ()


def test_too_many_sentences() -> None:
    answer = " ".join(f"Rule number {n} applies here [1]." for n in range(1, 8))
    assert tone_problems(answer) == ("7 sentences (max 5)",)


def test_list_items_are_not_sentences_but_are_capped() -> None:
    ten = "Steps:\n" + "\n".join(f"- Step {n} [1]" for n in range(1, 11))
    assert tone_problems(ten) == ()
    eleven = "Steps:\n" + "\n".join(f"{n}. Step {n} [1]" for n in range(1, 12))
    assert tone_problems(eleven) == ("11 list items (max 10)",)


def test_too_many_words_not_counting_markers() -> None:
    at_limit = " ".join(["word"] * 149) + " end [1] [2] [3]."
    assert tone_problems(at_limit) == ()
    over = " ".join(["word"] * 160) + " [1]."
    assert tone_problems(over) == ("160 words (max 150)",)


@pytest.mark.parametrize(
    ("answer", "label"),
    [
        ("Hi there! You get 25 days [1].", "greeting: 'Hi'"),
        ("**Good morning**, you get 25 days [1].", "greeting: 'Good morning'"),
        ("Dear colleague, you get 25 days [1].", "greeting: 'Dear'"),
        ("You get 25 days [1]. I hope this helps!", "banned phrase: 'I hope this helps'"),
        ("You get 25 days [1]. Let me know if you need more.", "banned phrase: 'let me know if'"),
        ("You get 25 days [1]. Feel free to ask HR.", "banned phrase: 'feel free to'"),
        ("Great question! You get 25 days [1].", "banned phrase: 'great question'"),
        ("As an AI, I think you get 25 days [1].", "banned phrase: 'as an AI'"),
        ("You get 25 days [1].\n\nKind regards", "banned phrase: 'kind regards'"),
    ],
)
def test_banned_phrases(answer: str, label: str) -> None:
    assert label in tone_problems(answer)


def test_banned_phrases_match_whole_words_only() -> None:
    # "Hiring" starts with "hi", "Heyford" with "hey": neither is a greeting.
    assert tone_problems("Hiring managers approve leave [1].") == ()
    assert tone_problems("Heyford staff get 25 days [1].") == ()
    assert tone_problems("You get 25 days; we are unhappy to help ourselves [1].") == ()


def test_longer_banned_phrase_is_reported_once() -> None:
    problems = tone_problems("You get 25 days [1]. I hope this helps.")
    assert problems == ("banned phrase: 'I hope this helps'",)


def test_uncited_paragraphs_and_list_items() -> None:
    answer = "You get 25 days.\n\nBook early [1].\n\n- Ask your manager\n- Use the HR tool [2]"
    assert tone_problems(answer) == ("uncited paragraph", "uncited list item")
    assert tone_problems("Here is what applies:\n\n- A [1]\n- B\n- C") == ("2 uncited list items",)


def test_html_and_headings() -> None:
    assert tone_problems("You get <b>25</b> days [1].<br>") == ("HTML tag: <b>, <br>",)
    assert tone_problems("## Annual leave\n\nYou get 25 days [1].") == (
        "Markdown heading: '## Annual leave'",
    )
    # Comparisons and #hashtags are neither.
    assert tone_problems("Trips of <5 days need no approval, see #travel [1].") == ()


# --- report ---


def source(**changes: Any) -> RetrievedSource:
    base = RetrievedSource(
        title="Leave Policy",
        section="Annual leave",
        url="https://hb.test/leave",
        document="people/leave.md",
        text="Full-time staff get 25 days of annual leave each year.",
        similarity=0.8123,
        gold_document=True,
        has_evidence=True,
    )
    return dataclasses.replace(base, **changes)


def case(case_id: str, **changes: Any) -> CaseResult:
    base = CaseResult(
        case_id=case_id,
        asked="How many days of leave do I get?",
        answerable=True,
        expected_answer="25 days a year.",
        gold_documents=("people/leave.md",),
        retrieved=(source(), source(title="Expenses", gold_document=False, has_evidence=False)),
        evidence_rank=1,
        gold_rank=1,
        doc_recall=1.0,
        checks_evidence=True,
        answer=offline_answer(["Full-time staff get 25 days of annual leave each year. [1]"]),
        outcome="answered",
        citations=(CitedSource(1, "Leave Policy", "Annual leave", "https://hb.test/leave", True),),
        correct=True,
        judged_by="tokens",
        tone_problems=(),
        latency_ms=812.4,
        prompt_tokens=1200,
        completion_tokens=80,
        cost_usd=0.000225,
    )
    return dataclasses.replace(base, **changes)


def summary(**retrieval: Any) -> Summary:
    return Summary(
        run=RunInfo(
            dataset="sample",
            corpus="knowledge/sample_kb",
            questions=24,
            with_context=True,
            embedding_model="all-MiniLM-L6-v2",
            answer_model="offline-extractive",
            chunks=137,
        ),
        retrieval=dataclasses.replace(
            RetrievalSummary(
                k=5,
                evidence_hit_at_k=0.8333,
                doc_recall_at_k=0.9,
                mrr=0.71234,
                questions_with_evidence=18,
                questions_with_gold_documents=20,
                evidence_hit_at_1=0.61,
                gold_document_hit_at_1=0.72,
            ),
            **retrieval,
        ),
        answers=AnswerSummary(
            correctness=0.75,
            judged=20,
            judged_by="lexical+tokens",
            citation_precision=None,
            grounded_rate=0.85,
            abstention_rate=0.5,
            tone_conformance=1.0,
            answerable=20,
            unanswerable=4,
        ),
        cost=CostSummary(
            latency_p50_ms=812.4,
            latency_p95_ms=1450.0,
            prompt_tokens_per_question=1234.5,
            completion_tokens_per_question=120.0,
            cost_per_question_usd=0.000225,
            cost_total_usd=0.0054,
        ),
    )


def test_summary_table_figures() -> None:
    table = summary_table(summary())
    lines = table.splitlines()
    for expected in [
        "sample",
        "knowledge/sample_kb",
        "all-MiniLM-L6-v2",
        "offline-extractive",
        "137",
        "Retrieval",
        "Answers",
        "Cost",
    ]:
        assert expected in table
    assert any("context" in line and line.rstrip().endswith("on") for line in lines)

    def line(label: str) -> str:
        (found,) = [text for text in lines if text.strip().startswith(label)]
        return found

    assert "0.833" in line("evidence hit@5") and "18 questions with evidence" in line("evidence")
    assert "0.900" in line("document recall@5")
    assert "0.712" in line("MRR")
    assert "0.610" in line("first source holds evidence")
    assert "0.720" in line("first source from a gold document")
    assert "0.750" in line("correctness") and "(20 judged, by lexical+tokens)" in table
    assert line("citation precision").rstrip().endswith("n/a")
    assert "0.850" in line("grounded rate") and "of 20 answerable" in table
    assert "0.500" in line("abstention rate") and "of 4 unanswerable" in table
    assert "1.000" in line("tone conformance")
    assert "812 ms" in line("latency p50") and "1450 ms" in line("latency p95")
    assert "1234.5" in line("prompt tokens") and "120.0" in line("completion tokens")
    assert "$0.000225" in line("cost / question") and "$0.0054" in line("cost total")


def test_summary_table_is_aligned_and_prints_none_as_na() -> None:
    table = summary_table(summary(evidence_hit_at_k=None, mrr=None))
    assert "0.833" not in table
    figures = [line for line in table.splitlines() if line.startswith("  ") and "@5" in line]
    assert all("n/a" in line or "0.900" in line for line in figures)
    # Values are right-aligned in one column across the sections.
    value_ends = {
        line.index(value) + len(value)
        for line, value in [
            (next(x for x in table.splitlines() if "document recall" in x), "0.900"),
            (next(x for x in table.splitlines() if "MRR" in x), "n/a"),
            (next(x for x in table.splitlines() if "tone conformance" in x), "1.000"),
            (next(x for x in table.splitlines() if "cost total" in x), "$0.0054"),
        ]
    }
    assert len(value_ends) == 1


def test_html_escapes_everything_from_the_data() -> None:
    results = [
        case(
            f"id-{SCRIPT}",
            asked=f"Can I {SCRIPT}?",
            expected_answer=f"No {SCRIPT}",
            answer=f"Here {SCRIPT} [1]",
            retrieved=(source(title=f"T{SCRIPT}", section=SCRIPT, text=f"chunk {SCRIPT}"),),
            citations=(CitedSource(1, SCRIPT, SCRIPT, "https://hb.test/x", False),),
            tone_problems=(f"banned phrase: '{SCRIPT}'",),
        )
    ]
    page = html_report(summary(), results)
    assert "<script" not in page.lower()
    assert page.count(ESCAPED_SCRIPT) >= 8
    assert page.startswith("<!DOCTYPE html>")
    assert "<style>" in page and "http" not in page.split("<body>")[0]


def test_html_links_only_http_urls() -> None:
    results = [
        case(
            "links",
            retrieved=(
                source(title="Safe", url="https://hb.test/safe"),
                source(title="Evil", url="javascript:alert(1)"),
                source(title="Tricky", url=" JavaScript:alert(2)"),
            ),
            citations=(CitedSource(1, "Evil", "", "javascript:alert(3)", None),),
        )
    ]
    page = html_report(summary(), results)
    assert '<a href="https://hb.test/safe">Safe › Annual leave</a>' in page
    assert "javascript:" not in page.lower()


def test_html_lists_every_case_failures_first() -> None:
    passing = case("passes")
    wrong = case("wrong-answer", correct=False)
    missed = case("missed-evidence", evidence_rank=None)
    unjudged = case("unjudged", correct=None, judged_by="")
    page = html_report(summary(), [passing, wrong, unjudged, missed])
    positions = [page.index(f"<h2>{c.case_id}</h2>") for c in (wrong, missed, passing, unjudged)]
    assert positions == sorted(positions)
    assert page.count('<section class="case fail">') == 2
    assert page.count('<section class="case pass">') == 2
    assert "2 of 4 questions failing" in page
    assert "evidence missed" in page and "evidence at rank 1" in page
    assert "incorrect (by tokens)" in page and "not judged" in page


def test_html_case_details() -> None:
    page = html_report(summary(), [case("one", tone_problems=("7 sentences (max 5)",))])
    assert "0.812" in page
    assert "gold document" in page and "holds evidence" in page
    assert "<details><summary>chunk text</summary>" in page
    assert "✓ supported" in page
    assert "tone: 7 sentences (max 5)" in page
    assert "How many days of leave do I get?" in page and "25 days a year." in page
