"""Typed values that flow between the loaders, the chunker, the store and retrieval."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

PUBLIC_SCOPE = "public"
# A document's life: only ``active`` documents (not superseded by an active one) are cited.
STATUSES = ("draft", "active", "superseded", "retired")
ACTIVE = "active"


def visible(document_scopes: Iterable[str], viewer_scopes: Iterable[str]) -> bool:
    """Whether a viewer with ``viewer_scopes`` may see something with ``document_scopes``: one
    scope in common, everyone having ``public`` (as retrieval filters chunks)."""
    return not {PUBLIC_SCOPE, *viewer_scopes}.isdisjoint(document_scopes)


@dataclass(frozen=True)
class Section:
    """A run of text under one heading path, with where to link to it.

    ``anchor`` is a fragment for web pages and Markdown (``"#expenses"``) or a page fragment for
    PDFs (``"#page=3"``); empty when the format has no addressable sections.
    """

    heading_path: tuple[str, ...]
    text: str
    anchor: str = ""


@dataclass(frozen=True)
class Document:
    """A loaded source, before chunking: what the loaders produce.

    A file's ``origin`` (its absolute path) and ``former_urls`` (the links files were given
    before documents kept their origin) let the store find the stored version of a file whose
    link has changed since, and relink it rather than add it again.
    """

    title: str
    url: str
    source: str
    format: str
    sections: tuple[Section, ...]
    owner: str | None = None
    scopes: tuple[str, ...] = (PUBLIC_SCOPE,)
    effective_date: date | None = None
    review_by: date | None = None
    origin: str | None = None
    former_urls: tuple[str, ...] = ()
    status: str = ACTIVE
    supersedes: str | None = None

    def link_to(self, section: Section) -> str:
        """The deep link to ``section``: the canonical link plus the section's anchor."""
        return self.url + section.anchor if section.anchor else self.url


@dataclass(frozen=True)
class Chunk:
    """A retrievable piece of one section, small enough to embed.

    ``id`` is stable: the same document text chunked the same way gets the same ids, and
    ``content_hash`` changes exactly when the text that is embedded changes.
    """

    id: str
    document_id: str
    position: int
    heading_path: tuple[str, ...]
    url: str
    context: str
    text: str
    content_hash: str

    @property
    def section(self) -> str:
        return self.heading_path[-1] if self.heading_path else ""

    @property
    def embedding_text(self) -> str:
        """What is embedded and full-text indexed: the context line, then the text."""
        return f"{self.context}\n\n{self.text}"


@dataclass(frozen=True)
class ScoredSentence:
    """One sentence of a retrieved chunk and its cosine similarity to the question."""

    text: str
    similarity: float


@dataclass(frozen=True)
class ListRanks:
    """Where the hybrid search's lists placed a chunk (1 = first; None = not in that list)."""

    vector: int | None
    text: int | None
    sentence: int | None


@dataclass(frozen=True)
class ScoredChunk:
    """One retrieval result, best first in a list of them.

    ``score`` is what the order came from (higher is better): the fitted ranking's log-odds
    when there is one (``knowledge/ranking.py``), else the fused rank score; ``similarity`` is
    the cosine similarity between question and chunk, an absolute measure the minimum-score cut
    and "is this good enough?" decisions can rely on. ``sentences`` are the chunk's indexed
    sentences in reading order, each with its own similarity (none for a chunk stored before
    sentences were). ``ranks`` are its places in the search's lists, when it came from one.
    """

    chunk_id: str
    document_id: str
    title: str
    section: str
    heading_path: tuple[str, ...]
    url: str
    text: str
    score: float
    similarity: float
    sentences: tuple[ScoredSentence, ...] = ()
    updated: date | None = None
    review_by: date | None = None
    ranks: ListRanks | None = None

    @property
    def best_sentence_similarity(self) -> float:
        """The similarity of the sentence closest to the question (the chunk's, without any)."""
        return max((s.similarity for s in self.sentences), default=self.similarity)


@dataclass(frozen=True)
class StoredDocument:
    """A document as the store knows it (without its text).

    ``link_problem`` is why its link was found broken by the last link check that reached
    it (None when it opened, or was never checked), at ``link_checked_at``.
    """

    id: str
    title: str
    url: str
    source: str
    format: str
    owner: str | None
    scopes: tuple[str, ...]
    content_hash: str
    version: int
    chunk_count: int
    created_at: datetime
    updated_at: datetime
    effective_date: date | None = None
    review_by: date | None = None
    link_problem: str | None = None
    link_checked_at: datetime | None = None
    status: str = ACTIVE
    supersedes: str | None = None
    superseded_by: str | None = None
    changed_at: datetime | None = None

    def review_overdue(self, today: date) -> bool:
        """Whether the review-by date is before ``today``."""
        return self.review_by is not None and self.review_by < today


@dataclass(frozen=True)
class DocumentVersion:
    """One change of a document's sections (version 1: the document as first stored).

    ``added``, ``changed`` and ``removed`` name sections by heading path; they are None for a
    change whose earlier sections were not recorded (documents stored before versions were).
    """

    number: int
    created_at: datetime
    added: tuple[str, ...] | None
    changed: tuple[str, ...] | None
    removed: tuple[str, ...] | None


@dataclass(frozen=True)
class MetadataChange:
    """What ``supportbot docs set`` changes; None leaves a field as it is. ``clear`` names
    fields (of ``CLEARABLE``) the document should have none of, whatever its file says."""

    owner: str | None = None
    effective_date: date | None = None
    review_by: date | None = None
    status: str | None = None
    supersedes: str | None = None
    clear: tuple[str, ...] = ()


# The fields of a document's metadata that may be empty (a status may not).
CLEARABLE = ("owner", "effective_date", "review_by", "supersedes")


@dataclass(frozen=True)
class IngestResult:
    """What adding or replacing one document did."""

    document_id: str
    title: str
    status: str  # "added", "updated", "relinked" (stored under another link before) or "unchanged"
    chunk_count: int
    embedded_count: int
    corpus_version: int
    section_count: int = 0
    warning: str | None = None


@dataclass(frozen=True)
class CorpusState:
    """Which knowledge base this is (a random id made with its schema) and its version now.

    The version alone repeats across databases; the pair names one text of one corpus.
    """

    instance: str
    version: int


@dataclass(frozen=True)
class Query:
    """A retrieval request: the text, how many results, and which scopes the asker may see."""

    text: str
    k: int = 4
    scopes: tuple[str, ...] = field(default=(PUBLIC_SCOPE,))
