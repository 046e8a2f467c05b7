"""Plain text: the first non-empty line is the title, the rest one section."""

from __future__ import annotations

from knowledge.loading.building import build_document
from knowledge.loading.sources import RawSource, decode_text
from knowledge.types import Document, Section


def parse_text(source: RawSource) -> Document:
    lines = decode_text(source).strip().splitlines()
    title = lines[0].strip() if lines else None
    body = "\n".join(lines[1:]).strip() if len(lines) > 1 else "\n".join(lines)
    return build_document(source, title=title, sections=[Section((), body)])
