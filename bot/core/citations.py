"""Citations you can trust: keep the ``[n]`` markers that point at a retrieved source.

Markers pointing nowhere are dropped; the sources that remain are renumbered 1, 2, ... in the
order the answer first cites them, and only cited sources are listed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime

from bot.core import messages
from bot.core.types import Citation
from knowledge.types import ScoredChunk

# [1], [1, 2], [1][3], [1-2] all appear in model output; each number is checked on its own.
_MARKER = re.compile(r"\[(\d+(?:\s*[,;–-]\s*\d+)*)\]")
_NUMBER = re.compile(r"\d+")


def cited_numbers(text: str) -> list[int]:
    """Every source number the ``[n]`` markers of ``text`` name, in order, repeats included."""
    return [int(n) for match in _MARKER.finditer(text) for n in _NUMBER.findall(match.group(1))]


def resolve_citations(
    text: str, sources: Sequence[ScoredChunk]
) -> tuple[str, tuple[Citation, ...]]:
    """The answer text with valid, renumbered markers, and the citations they point at."""
    order: dict[int, int] = {}  # source index (1-based, as the model saw it) -> new number

    def renumber(match: re.Match[str]) -> str:
        kept: list[int] = []
        for number in cited_numbers(match.group(0)):
            if 1 <= number <= len(sources):
                new = order.setdefault(number, len(order) + 1)
                if new not in kept:
                    kept.append(new)
        return "".join(f"[{n}]" for n in kept)

    cleaned = _MARKER.sub(renumber, text)
    cleaned = re.sub(r"[ \t]+([.,;:!?])", r"\1", cleaned)  # "text [9]." left "text ."
    cleaned = re.sub(r"[ \t]{2,}", " ", cleaned).strip()
    citations = tuple(
        Citation(
            n=new,
            doc_id=sources[old - 1].document_id,
            title=sources[old - 1].title,
            section=sources[old - 1].section,
            url=sources[old - 1].url,
            updated=sources[old - 1].updated,
            review_by=sources[old - 1].review_by,
        )
        for old, new in sorted(order.items(), key=lambda item: item[1])
    )
    return cleaned, citations


def citation_note(citation: Citation, today: date | None = None) -> str:
    """The note renderers put after a source: "updated <date>", and "review overdue" when the
    document's review date is before ``today`` (UTC today by default); "" for neither."""
    today = today or datetime.now(UTC).date()
    return messages.source_note(citation.updated, citation.review_overdue(today))
