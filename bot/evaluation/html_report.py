"""An evaluation run as one HTML page: the figures, then every question, failures first.

The page is self-contained (inline CSS, no script, no external resources). Everything that comes
from the run is escaped, and only http(s) links become links.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from bot.evaluation.report import TITLE, figure_sections, run_rows
from bot.evaluation.results import CaseResult, CitedSource, RetrievedSource, Summary

# Page labels (what a person reads on the page).
FAILURES_LINE = "{failing} of {total} questions failing (evidence missed or answer incorrect)"
ONLY_FAILURES = "show failures only"
ASKED = "Asked"
EXPECTED = "Expected"
NO_EXPECTED_ANSWER = "(no expected answer given)"
UNANSWERABLE = "not covered by the documents (unanswerable)"
GOLD_DOCUMENTS = "Gold documents"
RETRIEVED = "Retrieved"
NOTHING_RETRIEVED = "(nothing retrieved)"
CHUNK_TEXT = "chunk text"
ANSWER = "Answer"
CITATIONS = "Citations"
NO_CITATIONS = "(no citations)"
CORRECT = "correct"
INCORRECT = "incorrect"
NOT_JUDGED = "not judged"
BY = "by {by}"
ANSWERED = "answered"
ANSWERED_UNSURE = "answered, marked unsure"
NOT_COVERED = "not covered"
EVIDENCE_AT = "evidence at rank {rank}"
EVIDENCE_MISSED = "evidence missed"
GOLD_AT = "gold document at rank {rank}"
GOLD_MISSED = "gold document missed"
TONE_OK = "tone ok"
TONE_PROBLEM = "tone: {problem}"
GOLD_DOCUMENT_MARK = "gold document"
EVIDENCE_MARK = "holds evidence"
SUPPORTED = "✓ supported"
UNSUPPORTED = "✗ unsupported"
NOT_CHECKED = "not checked"
CASE_COST = "{latency:.0f} ms · {prompt} + {completion} tokens · ${cost:.6f}"

_LINK_SCHEME = re.compile(r"https?://", re.IGNORECASE)


def _failed(result: CaseResult) -> bool:
    """Whether a case failed: its evidence (or gold document) was missed, or it was judged wrong.

    "Missed" uses the same rank as MRR: the first evidence chunk when the case has evidence
    sentences, otherwise the first chunk of a gold document.
    """
    has_target = result.checks_evidence or bool(result.gold_documents)
    return result.correct is False or (has_target and result.relevant_rank is None)


def html_report(summary: Summary, results: Sequence[CaseResult]) -> str:
    """One self-contained HTML page: the figures, then every question, failures first."""
    # sorted() is stable, so dataset order is kept within the failing and the passing group.
    ordered = sorted(results, key=lambda r: not _failed(r))
    failing = sum(1 for r in results if _failed(r))
    title = f"{TITLE}: {summary.run.dataset}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        _html_summary(summary),
        '<p class="filter">'
        f"{_e(FAILURES_LINE.format(failing=failing, total=len(results)))} "
        f'<label><input type="checkbox" id="only-failures"> {_e(ONLY_FAILURES)}</label></p>',
        *(_html_case(r) for r in ordered),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _html_summary(summary: Summary) -> str:
    rows = [
        f"<tr><th>{_e(label)}</th><td colspan=2>{_e(value)}</td></tr>"
        for label, value in run_rows(summary)
    ]
    for title, section_rows in figure_sections(summary):
        rows.append(f'<tr class="section"><th colspan=3>{_e(title)}</th></tr>')
        rows += [
            f'<tr><th>{_e(label)}</th><td class="num">{_e(value)}</td><td>{_e(detail)}</td></tr>'
            for label, value, detail in section_rows
        ]
    return '<table class="summary">' + "".join(rows) + "</table>"


def _html_case(result: CaseResult) -> str:
    status = "fail" if _failed(result) else "pass"
    expected = (
        UNANSWERABLE if not result.answerable else (result.expected_answer or NO_EXPECTED_ANSWER)
    )
    if not result.answerable and result.expected_answer:
        expected = f"{expected}: {result.expected_answer}"
    parts = [
        f'<section class="case {status}">',
        f"<h2>{_e(result.case_id)}</h2>",
        _badges(result),
        f'<p class="cost">{_e(_case_cost(result))}</p>',
        f'<h3>{_e(ASKED)}</h3><div class="text">{_e(result.asked)}</div>',
        f'<h3>{_e(EXPECTED)}</h3><div class="text">{_e(expected)}</div>',
    ]
    if result.gold_documents:
        parts.append(
            f'<p class="gold">{_e(GOLD_DOCUMENTS)}: '
            + ", ".join(f"<code>{_e(d)}</code>" for d in result.gold_documents)
            + "</p>"
        )
    parts.append(f"<h3>{_e(RETRIEVED)}</h3>")
    if result.retrieved:
        parts.append("<ol>" + "".join(_html_source(s) for s in result.retrieved) + "</ol>")
    else:
        parts.append(f'<p class="none">{_e(NOTHING_RETRIEVED)}</p>')
    parts.append(f'<h3>{_e(ANSWER)}</h3><div class="text answer">{_e(result.answer)}</div>')
    parts.append(f"<h3>{_e(CITATIONS)}</h3>")
    if result.citations:
        parts.append("<ul>" + "".join(_html_citation(c) for c in result.citations) + "</ul>")
    else:
        parts.append(f'<p class="none">{_e(NO_CITATIONS)}</p>')
    parts.append("</section>")
    return "\n".join(parts)


def _badges(result: CaseResult) -> str:
    badges: list[tuple[str, str]] = []  # text, good / bad / neutral
    by = f" ({BY.format(by=result.judged_by)})" if result.judged_by else ""
    if result.correct is True:
        badges.append((CORRECT + by, "good"))
    elif result.correct is False:
        badges.append((INCORRECT + by, "bad"))
    else:
        badges.append((NOT_JUDGED, "neutral"))
    if result.answered and result.unsure:
        badges.append((ANSWERED_UNSURE, "warn"))
    elif result.answered:
        badges.append((ANSWERED, "good" if result.answerable else "bad"))
    elif result.outcome == "not_covered":
        badges.append((NOT_COVERED, "bad" if result.answerable else "good"))
    else:
        badges.append((result.outcome.replace("_", " "), "bad"))
    if result.checks_evidence:
        rank = result.evidence_rank
        badges.append((EVIDENCE_AT.format(rank=rank), "good") if rank else (EVIDENCE_MISSED, "bad"))
    elif result.gold_documents:
        rank = result.gold_rank
        badges.append((GOLD_AT.format(rank=rank), "good") if rank else (GOLD_MISSED, "bad"))
    if result.tone_problems:
        badges += [(TONE_PROBLEM.format(problem=p), "warn") for p in result.tone_problems]
    elif result.answered:
        badges.append((TONE_OK, "good"))
    spans = (f'<span class="badge {kind}">{_e(text)}</span>' for text, kind in badges)
    return '<p class="badges">' + " ".join(spans) + "</p>"


def _case_cost(result: CaseResult) -> str:
    return CASE_COST.format(
        latency=result.latency_ms,
        prompt=result.prompt_tokens,
        completion=result.completion_tokens,
        cost=result.cost_usd,
    )


def _html_source(source: RetrievedSource) -> str:
    marks = [GOLD_DOCUMENT_MARK] if source.gold_document else []
    marks += [EVIDENCE_MARK] if source.has_evidence else []
    return (
        f"<li>{_link(_where(source.title, source.section), source.url)} "
        f'<span class="sim">{source.similarity:.3f}</span> '
        + "".join(f'<span class="mark">{_e(m)}</span> ' for m in marks)
        + f"<details><summary>{_e(CHUNK_TEXT)}</summary>"
        f'<div class="text chunk">{_e(source.text)}</div></details></li>'
    )


def _html_citation(citation: CitedSource) -> str:
    if citation.supported is None:
        mark, kind = NOT_CHECKED, "neutral"
    else:
        mark, kind = (SUPPORTED, "good") if citation.supported else (UNSUPPORTED, "bad")
    return (
        f"<li>[{citation.n}] {_link(_where(citation.title, citation.section), citation.url)} "
        f'<span class="badge {kind}">{_e(mark)}</span></li>'
    )


def _where(title: str, section: str) -> str:
    return f"{title} › {section}" if section and section != title else title


def _link(text: str, url: str) -> str:
    """Escaped text, as a link only when ``url`` is plainly http or https."""
    if _LINK_SCHEME.match(url):
        return f'<a href="{_e(url)}">{_e(text)}</a>'
    return _e(text)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


_CSS = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem;
  padding: 0 1rem; color: #222; }
h1 { font-size: 1.4rem; }
h2 { font-size: 1.1rem; margin: 0 0 .4rem; font-family: ui-monospace, monospace; }
h3 { font-size: .85rem; text-transform: uppercase; color: #666; margin: .8rem 0 .2rem; }
table.summary { border-collapse: collapse; margin-bottom: 1rem; }
table.summary th, table.summary td { text-align: left; padding: .1rem .8rem .1rem 0; }
table.summary th { font-weight: normal; color: #555; }
table.summary tr.section th { font-weight: bold; color: #222; padding-top: .6rem; }
table.summary td.num { text-align: right; font-variant-numeric: tabular-nums; }
.filter { padding: .5rem 0; border-bottom: 1px solid #ddd; }
body:has(#only-failures:checked) .case.pass { display: none; }
.case { border: 1px solid #ddd; border-left: 5px solid #3a3; border-radius: 4px;
  padding: .8rem 1rem; margin: 1rem 0; }
.case.fail { border-left-color: #c33; }
.text { white-space: pre-wrap; }
.chunk { background: #f6f6f6; padding: .4rem; font-size: .9em; }
.badge, .mark { display: inline-block; border-radius: 3px; padding: 0 .4rem; font-size: .85em; }
.badge.good { background: #dfd; } .badge.bad { background: #fdd; }
.badge.warn { background: #ffd; } .badge.neutral { background: #eee; }
.mark { background: #def; }
.sim { font-variant-numeric: tabular-nums; color: #555; }
.cost, .none, .gold { color: #666; font-size: .9em; }
"""
