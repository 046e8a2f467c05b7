"""PDF files: text per page, headings told apart by a larger font, ``#page=N`` deep links."""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from pypdf import PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import DictionaryObject

from knowledge.errors import LoadError
from knowledge.loading.building import build_document
from knowledge.loading.limits import ParseLimits
from knowledge.loading.sources import RawSource
from knowledge.types import Document, Section

# Text this much larger than the body text, on a short line, is taken as a heading.
_HEADING_SCALE = 1.15
_HEADING_MAX_CHARS = 120


_PAGE_NUMBER = re.compile(r"^(page\s+)?\d+(\s*(of|/)\s*\d+)?$", re.IGNORECASE)


@dataclass
class _Line:
    page: int
    size: float
    text: str


def parse_pdf(source: RawSource, limits: ParseLimits) -> Document:
    """A PDF's sections, if it has at most ``limits.pdf_max_pages`` pages."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # it warns on every odd but usable file
    try:
        reader = PdfReader(io.BytesIO(source.data))
        if reader.is_encrypted:
            raise LoadError(source.name, "is an encrypted PDF")
        _check_pages(reader, source.name, limits.pdf_max_pages)
        lines = [
            line for number, page in enumerate(reader.pages, 1) for line in _lines(page, number)
        ]
        title = (reader.metadata.title if reader.metadata else None) or None
        owner = (reader.metadata.author if reader.metadata else None) or None
    except LoadError:
        raise
    # PyPdfError covers pypdf's own limits (LimitReachedError) as well as unreadable files.
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as e:
        raise LoadError(source.name, f"is not a readable PDF ({e})") from e

    lines = _without_page_furniture(lines, pages=len(reader.pages))
    body_size = _body_font_size(lines)
    sections: list[Section] = []
    stack: list[tuple[float, str]] = []
    page = 1
    text_lines: list[str] = []

    def close() -> None:
        sections.append(Section(tuple(h for _, h in stack), "\n".join(text_lines), f"#page={page}"))

    for line in lines:
        is_heading = (
            line.size >= body_size * _HEADING_SCALE and len(line.text) <= _HEADING_MAX_CHARS
        )
        if is_heading or line.page != page:
            close()
            text_lines = []
            page = line.page
        if is_heading:
            if title is None:
                title = line.text
                stack = []
                continue
            while stack and stack[-1][0] <= line.size:
                stack.pop()
            stack.append((line.size, line.text))
        else:
            text_lines.append(line.text)
    close()
    return build_document(source, title=title, sections=sections, owner=owner)


def _check_pages(reader: PdfReader, name: str, most: int) -> None:
    # The declared count first: a page tree can make pypdf list many pages from a small file.
    tree = reader.root_object.get("/Pages")
    tree = tree.get_object() if tree is not None else None
    declared = tree.get("/Count") if isinstance(tree, DictionaryObject) else None
    pages = declared if isinstance(declared, int) and declared > most else len(reader.pages)
    if pages > most:
        raise LoadError(name, f"has {pages} pages, over the {most}-page limit")


def _lines(page: Any, number: int) -> list[_Line]:
    """The page's text as lines, each with the largest font size seen on it."""
    lines: list[_Line] = []
    current: list[str] = []
    size = 0.0

    def visit(text: str, _cm: Any, tm: Any, _font: Any, font_size: float) -> None:
        nonlocal size
        scale = abs(tm[3]) if tm and tm[3] else 1.0
        pieces = text.split("\n")
        for index, piece in enumerate(pieces):
            if piece.strip():
                current.append(piece)
                size = max(size, font_size * scale)
            if index < len(pieces) - 1:
                flush()

    def flush() -> None:
        nonlocal size
        joined = " ".join("".join(current).split())
        if joined:
            lines.append(_Line(number, round(size, 1), joined))
        current.clear()
        size = 0.0

    page.extract_text(visitor_text=visit)
    flush()
    return lines


def _without_page_furniture(lines: list[_Line], *, pages: int) -> list[_Line]:
    """Drop running headers and footers: page numbers, and lines repeated on most pages."""
    on_pages: Counter[str] = Counter()
    for text in {(line.page, line.text) for line in lines}:
        on_pages[text[1]] += 1
    repeated = {text for text, count in on_pages.items() if pages >= 2 and count > pages / 2}
    return [
        line for line in lines if line.text not in repeated and not _PAGE_NUMBER.match(line.text)
    ]


def _body_font_size(lines: list[_Line]) -> float:
    sizes: Counter[float] = Counter()
    for line in lines:
        sizes[line.size] += len(line.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0
