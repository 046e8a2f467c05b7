"""Which parser reads which format; parsing in the calling process."""

from __future__ import annotations

from collections.abc import Callable

from knowledge.errors import LoadError
from knowledge.loading.html import parse_html
from knowledge.loading.limits import ParseLimits
from knowledge.loading.markdown import parse_markdown
from knowledge.loading.pdf import parse_pdf
from knowledge.loading.plain import parse_text
from knowledge.loading.sources import RawSource
from knowledge.loading.word import parse_docx
from knowledge.types import Document

PARSERS: dict[str, Callable[[RawSource, ParseLimits], Document]] = {
    "markdown": lambda source, _limits: parse_markdown(source),
    "html": parse_html,
    "pdf": parse_pdf,
    "docx": parse_docx,
    "text": lambda source, _limits: parse_text(source),
}


def parse(source: RawSource, limits: ParseLimits | None = None) -> Document:
    """Parse raw bytes into a ``Document`` with the parser for their format, in this process.

    Only the format limits apply here, not the deadline or the memory cap: untrusted bytes go
    through ``knowledge.loading.isolation.parse_bounded``.
    """
    try:
        return PARSERS[source.format](source, limits or ParseLimits())
    except LoadError:
        raise
    except RecursionError as e:
        raise LoadError(source.name, "is too deeply nested to read") from e
