"""Heading-aware chunking: pure functions from a ``Document`` to ``Chunk`` values.

Chunks never cross a section boundary. Each chunk carries its document title and heading path
in ``embedding_text``, so a chunk that says "30 days" is still found by a question about
parental leave. Ids and hashes are derived from content, so chunking the same text twice gives
the same chunks and an unchanged document needs no new embeddings.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from knowledge.types import ACTIVE, Chunk, Document, Section

# Bumped when what is stored per chunk changes, so the next ingest rewrites unchanged documents.
INDEX_VERSION = 2
# Room for the heading line each packed section brings along.
_HEADING_ALLOWANCE = 80
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class ChunkingOptions:
    """Target chunk size and overlap, in characters."""

    size: int = 1000
    overlap: int = 150

    def __post_init__(self) -> None:
        if self.size < 100:
            raise ValueError("chunk size must be at least 100 characters")
        if not 0 <= self.overlap < self.size // 2:
            raise ValueError("chunk overlap must be at least 0 and less than half the size")


def document_id_for(url: str) -> str:
    """The stable id of the document whose canonical link is ``url``."""
    return hashlib.sha256(url.encode()).hexdigest()[:12]


def document_hash(document: Document) -> str:
    """A hash of everything about a document that changes its chunks or how they are found."""
    digest = hashlib.sha256()
    for part in (document.title, document.url, document.owner or "", ",".join(document.scopes)):
        digest.update(part.encode())
        digest.update(b"\0")
    for date_value in (document.effective_date, document.review_by):
        digest.update(str(date_value).encode())
        digest.update(b"\0")
    if document.status != ACTIVE or document.supersedes:
        # Only when set, so documents hashed before there was a status keep their hash.
        digest.update(f"{document.status}\0{document.supersedes or ''}\0".encode())
    for section in document.sections:
        digest.update("\x1f".join(section.heading_path).encode())
        digest.update(section.anchor.encode())
        digest.update(section.text.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def stored_hash(document: Document, chunks: Sequence[Chunk]) -> str:
    """What the store compares to skip an unchanged document: its text and how it was chunked.

    Chunk ids cover each chunk's position and indexed text, so a change of chunk size or of
    what is indexed with a chunk re-chunks documents whose text did not change; the index
    version does the same when what is stored per chunk changes (version 2 added sentences).
    """
    digest = hashlib.sha256(f"{INDEX_VERSION}\0{document_hash(document)}".encode())
    for chunk in chunks:
        digest.update(chunk.id.encode())
    return digest.hexdigest()


def chunk_document(document: Document, options: ChunkingOptions | None = None) -> list[Chunk]:
    """Split ``document`` into chunks that follow its sections.

    Small sections under the same top-level heading are packed together (each keeping its
    heading as a line of text), so a chunk is a readable passage rather than one list item;
    a section longer than the chunk size is split on its own.
    """
    options = options or ChunkingOptions()
    doc_id = document_id_for(document.url)
    chunks: list[Chunk] = []
    for section in _packed(document, options):
        for piece in split_text(section.text, options):
            chunks.append(_make_chunk(document, doc_id, section, piece, position=len(chunks)))
    return chunks


def _packed(document: Document, options: ChunkingOptions) -> Iterator[Section]:
    """Runs of consecutive small sections that share a top-level heading, as one section each.

    A run is named by its first section's heading path and anchor; later sections in it bring
    their own heading as a line, so what they say stays attached to what they are about.
    """
    run: list[Section] = []
    length = 0
    for section in document.sections:
        fits = length + len(section.text) + _HEADING_ALLOWANCE <= options.size
        if run and (not fits or _part(document, section) != _part(document, run[0])):
            yield _joined(run)
            run, length = [], 0
        run.append(section)
        length += len(section.text) + _HEADING_ALLOWANCE
    if run:
        yield _joined(run)


def _part(document: Document, section: Section) -> tuple[str, ...]:
    path = section.heading_path
    return path[:2] if path and path[0] == document.title else path[:1]


def _joined(run: list[Section]) -> Section:
    first = run[0]
    parts = [first.text]
    for section in run[1:]:
        heading = section.heading_path[-1] if section.heading_path else ""
        parts.append(f"{heading}\n{section.text}" if heading else section.text)
    return Section(first.heading_path, "\n\n".join(parts), first.anchor)


def context_for(title: str, heading_path: tuple[str, ...]) -> str:
    """The line that travels with every chunk: document title and heading path."""
    headings = [h for h in heading_path if h and h != title]
    return " › ".join([title, *headings])


def _make_chunk(
    document: Document, doc_id: str, section: Section, text: str, position: int
) -> Chunk:
    context = context_for(document.title, section.heading_path)
    content_hash = hashlib.sha256(f"{context}\n\n{text}".encode()).hexdigest()
    # Position is part of the id so that two identical passages in one document stay distinct.
    chunk_id = hashlib.sha256(f"{doc_id}\0{position}\0{content_hash}".encode()).hexdigest()[:24]
    return Chunk(
        id=chunk_id,
        document_id=doc_id,
        position=position,
        heading_path=section.heading_path,
        url=document.link_to(section),
        context=context,
        text=text,
        content_hash=content_hash,
    )


def split_text(text: str, options: ChunkingOptions) -> list[str]:
    """Split one section's text into pieces of at most ``options.size`` characters.

    Paragraphs are kept whole where they fit, then sentences, then words; consecutive pieces
    share up to ``options.overlap`` characters of context.
    """
    text = text.strip()
    if not text:
        return []
    if len(text) <= options.size:
        return [text]
    units = list(_units(text, options.size))
    pieces: list[str] = []
    current: list[str] = []
    length = 0
    for unit in units:
        if current and length + len(unit) > options.size:
            pieces.append("\n\n".join(current))
            current, length = _overlap_tail(current, options.overlap)
        current.append(unit)
        length += len(unit) + 2
    if current:
        pieces.append("\n\n".join(current))
    return pieces


def _units(text: str, size: int) -> Iterator[str]:
    """Paragraphs, or sentences of paragraphs that are too long, or words as a last resort."""
    for paragraph in _PARAGRAPH_BREAK.split(text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        if len(paragraph) <= size:
            yield paragraph
            continue
        for sentence in _SENTENCE_END.split(paragraph):
            if len(sentence) <= size:
                yield sentence
                continue
            words = sentence.split()
            line: list[str] = []
            for word in words:
                if line and sum(len(w) + 1 for w in line) + len(word) > size:
                    yield " ".join(line)
                    line = []
                line.append(word[:size])
            if line:
                yield " ".join(line)


def _overlap_tail(units: list[str], overlap: int) -> tuple[list[str], int]:
    """The trailing units of a finished piece that fit in the overlap budget."""
    tail: list[str] = []
    length = 0
    for unit in reversed(units):
        if length + len(unit) + 2 > overlap:
            break
        tail.insert(0, unit)
        length += len(unit) + 2
    return tail, length
