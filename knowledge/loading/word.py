"""Word documents (.docx): 'Title' and 'Heading N' paragraph styles make the sections."""

from __future__ import annotations

import io
import zipfile

import docx
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph

from knowledge.errors import LoadError
from knowledge.loading.building import build_document
from knowledge.loading.sources import RawSource
from knowledge.types import Document, Section


def parse_docx(source: RawSource) -> Document:
    try:
        document = docx.Document(io.BytesIO(source.data))
    except (zipfile.BadZipFile, KeyError, ValueError) as e:
        raise LoadError(source.name, "is not a readable DOCX file") from e
    except Exception as e:  # python-docx raises its own PackageNotFoundError and lxml errors
        raise LoadError(source.name, f"is not a readable DOCX file ({type(e).__name__})") from e

    title = document.core_properties.title or None
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    lines: list[str] = []

    def close() -> None:
        sections.append(Section(tuple(h for _, h in stack), "\n".join(lines).strip()))

    body = document.element.body
    for child in body.iterchildren():
        if child.tag == qn("w:tbl"):
            for row in Table(child, document).rows:
                lines.append(" | ".join(cell.text.strip() for cell in row.cells))
            continue
        if child.tag != qn("w:p"):
            continue
        paragraph = Paragraph(child, document)
        text = paragraph.text.strip()
        if not text:
            continue
        style = paragraph.style.name if paragraph.style is not None else ""
        level = _heading_level(style)
        if level is None:
            lines.append(f"- {text}" if style.startswith("List") else text)
            continue
        if level == 0:
            title = title or text
            continue
        close()
        lines = []
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, text))
        if level == 1 and title is None:
            title = text
    close()
    owner = document.core_properties.author or None
    return build_document(source, title=title, sections=sections, owner=owner)


def _heading_level(style: str) -> int | None:
    if style == "Title":
        return 0
    if style.startswith("Heading "):
        suffix = style.removeprefix("Heading ")
        return int(suffix) if suffix.isdigit() else None
    return None
