"""Word documents (.docx): 'Title' and 'Heading N' paragraph styles make the sections."""

from __future__ import annotations

import io
import zipfile

import docx
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph

from knowledge.errors import LoadError
from knowledge.loading.building import build_document, parse_status
from knowledge.loading.limits import MEGABYTE, ParseLimits, megabytes
from knowledge.loading.sources import RawSource
from knowledge.types import Document, Section

# Small members (styles, settings) compress very well without being bombs.
_RATIO_CHECKED_FROM = MEGABYTE


def parse_docx(source: RawSource, limits: ParseLimits) -> Document:
    """A Word document's sections, once its zip directory is within ``limits``."""
    try:
        check_archive(source, limits)
        document = docx.Document(io.BytesIO(source.data))
    except LoadError:
        raise
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

    style_names: dict[str | None, str] = {}  # python-docx looks a default style up in O(styles)
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
        style_id = child.style
        if style_id not in style_names:
            found = paragraph.style
            style_names[style_id] = (found.name or "") if found is not None else ""
        style = style_names[style_id]
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
    # Word's Author is the owner (Last Modified By is whoever saved it last), and its Status
    # (content status) the document's status; Word has no property for the dates.
    properties = document.core_properties
    return build_document(
        source,
        title=title,
        sections=sections,
        owner=properties.author or None,
        status=parse_status(properties.content_status, source.name),
    )


def _heading_level(style: str) -> int | None:
    if style == "Title":
        return 0
    if style.startswith("Heading "):
        suffix = style.removeprefix("Heading ")
        return int(suffix) if suffix.isdigit() else None
    return None


def check_archive(source: RawSource, limits: ParseLimits) -> None:
    """Refuse a zip bomb from its directory alone, before anything is decompressed.

    The sizes in the directory can be trusted: ``zipfile`` stops reading a member at its
    declared size (and fails its checksum), so a member cannot decompress to more than it says.
    """
    with zipfile.ZipFile(io.BytesIO(source.data)) as archive:
        members = archive.infolist()
    if len(members) > limits.docx_max_members:
        raise LoadError(
            source.name, f"holds {len(members)} files, over the {limits.docx_max_members} limit"
        )
    unpacked = sum(member.file_size for member in members)
    if unpacked > limits.docx_max_unpacked_mb * MEGABYTE:
        raise LoadError(
            source.name,
            f"decompresses to {megabytes(unpacked)}, over the "
            f"{megabytes(limits.docx_max_unpacked_mb * MEGABYTE)} limit",
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size >= _RATIO_CHECKED_FROM and ratio > limits.docx_max_ratio:
            raise LoadError(
                source.name,
                f"{member.filename} decompresses {ratio:.0f} times, over the "
                f"{limits.docx_max_ratio:g} times limit for compression",
            )
