"""A document's life in the store: status, what it supersedes, overrides, versions, citing."""

from __future__ import annotations

import dataclasses
import io
from datetime import date

import docx
import pytest

from knowledge.chunking import chunk_document
from knowledge.errors import DocumentNotFoundError, LoadError, MetadataError
from knowledge.loading import load
from knowledge.loading.html import parse_html
from knowledge.loading.limits import ParseLimits
from knowledge.loading.markdown import parse_markdown
from knowledge.loading.source_metadata import SourceMetadata
from knowledge.loading.sources import RawSource
from knowledge.loading.word import parse_docx
from knowledge.retrieval import PgHybridRetriever
from knowledge.store import PgDocumentStore
from knowledge.types import Document, MetadataChange, Query
from knowledge.versions import compare, fingerprints
from tests.documents import policy

OLD = "https://handbook.test/old-leave"
LIMITS = ParseLimits()


async def _store(store: PgDocumentStore, document: Document) -> str:
    result = await store.upsert(document, chunk_document(document))
    return result.document_id


async def _cited_ids(retriever: PgHybridRetriever, question: str) -> set[str]:
    return {hit.document_id for hit in await retriever.search(Query(question, k=10))}


def test_front_matter_gives_status_and_what_a_document_supersedes() -> None:
    text = (
        "---\ntitle: Leave\nstatus: Draft\nsupersedes: https://handbook.test/old\n---\n"
        "# Leave\n\nTwenty days.\n"
    )
    document = parse_markdown(RawSource("leave.md", text.encode(), "markdown", None, "leave.md"))
    assert (document.status, document.supersedes) == ("draft", "https://handbook.test/old")
    bad = RawSource(
        "bad.md", b"---\nstatus: archived\n---\n# L\n\nText.\n", "markdown", None, "bad.md"
    )
    with pytest.raises(LoadError, match=r"bad\.md: status 'archived' is not one of draft, active"):
        parse_markdown(bad)


def test_html_meta_tags_and_docx_properties_give_the_metadata() -> None:
    page = (
        '<html><head><meta name="owner" content="ana@example.com">'
        '<meta name="effective" content="2025-01-01"><meta name="review-by" content="2025-06-01">'
        '<meta name="status" content="retired"><meta name="supersedes" content="https://x.test/a">'
        "</head><body><h1>Leave</h1><p>Twenty days.</p></body></html>"
    )
    html = parse_html(RawSource("leave.html", page.encode(), "html", None, "leave.html"), LIMITS)
    assert (html.owner, html.effective_date, html.review_by) == (
        "ana@example.com", date(2025, 1, 1), date(2025, 6, 1)
    )  # fmt: skip
    assert (html.status, html.supersedes) == ("retired", "https://x.test/a")

    word = docx.Document()
    word.core_properties.author = "bo@example.com"
    word.core_properties.content_status = "Draft"
    word.add_heading("Leave", level=1)
    word.add_paragraph("Twenty days.")
    data = io.BytesIO()
    word.save(data)
    parsed = parse_docx(RawSource("l.docx", data.getvalue(), "docx", None, "l.docx"), LIMITS)
    assert (parsed.owner, parsed.status) == ("bo@example.com", "draft")


async def test_a_sources_metadata_fills_what_the_document_does_not_say() -> None:
    said = b"---\ntitle: Leave\nowner: ana@example.com\n---\n# Leave\n\nTwenty days.\n"
    given = SourceMetadata(owner="bo@example.com", review_by=date(2027, 1, 1), status="Draft")
    sources = [
        RawSource("said.md", said, "markdown", None, "said.md", metadata=given),
        RawSource("plain.md", b"# Plain\n\nText.\n", "markdown", None, "plain.md"),
        RawSource("bad.md", b"# Bad\n\nText.\n", "markdown", None, "bad.md",
                  metadata=SourceMetadata(status="archived")),
    ]  # fmt: skip
    said_doc, plain, bad = [outcome async for outcome in load(sources)]
    assert said_doc.document is not None and plain.document is not None
    assert (said_doc.document.owner, said_doc.document.review_by, said_doc.document.status) == (
        "ana@example.com", date(2027, 1, 1), "draft"
    )  # fmt: skip
    assert (plain.document.owner, plain.document.status) == (None, "active")
    assert bad.document is None and "its source gives status 'archived'" in str(bad.error)


def test_sections_compare_by_heading_path() -> None:
    old = policy(sections={"Annual": "20 days.", "Sick": "Call in.", "Carry": "5 days."})
    new = policy(sections={"Annual": "25 days.", "Sick": "Call in.", "Parental": "16 weeks."})
    changes = compare(fingerprints(old), fingerprints(new))
    assert changes.added == ("Leave Policy › Parental",)
    assert changes.changed == ("Leave Policy › Annual",)
    assert changes.removed == ("Leave Policy › Carry",)


async def test_drafts_retired_and_superseded_documents_are_never_cited(
    store: PgDocumentStore, retriever: PgHybridRetriever
) -> None:
    sections = {"Annual leave": "Everyone gets 20 days of annual leave."}
    old = await _store(store, policy(url=OLD, title="Old leave", sections=sections))
    draft = await _store(
        store,
        dataclasses.replace(
            policy(url="https://handbook.test/draft", title="Draft leave", sections=sections),
            status="draft",
        ),
    )
    assert await _cited_ids(retriever, "annual leave days") == {old}
    new = await _store(
        store, dataclasses.replace(policy(), supersedes=OLD)
    )  # an active successor replaces the old one, whatever the old one says
    assert await _cited_ids(retriever, "annual leave days") == {new}
    listed = {d.id: d for d in await store.list_documents()}
    assert (listed[old].status, listed[old].superseded_by) == ("superseded", policy().url)
    assert listed[draft].status == "draft"
    await store.set_metadata(new, MetadataChange(status="retired"))
    assert await _cited_ids(retriever, "annual leave days") == set()


async def test_metadata_set_by_hand_survives_a_changed_reingest(store: PgDocumentStore) -> None:
    doc_id = await _store(store, policy())
    before = await store.corpus_version()
    change = MetadataChange(owner="ana@example.com", review_by=date(2020, 1, 1), status="draft")
    updated = await store.set_metadata("Leave Policy", change)
    assert (updated.owner, updated.review_by, updated.status) == (
        "ana@example.com", date(2020, 1, 1), "draft"
    )  # fmt: skip
    assert updated.review_overdue(date.today())
    assert await store.corpus_version() > before
    await _store(store, policy(sections={"Annual leave": "Everyone gets 30 days."}))
    again = await store.find(doc_id)
    assert (again.owner, again.review_by, again.status) == (
        "ana@example.com", date(2020, 1, 1), "draft"
    )  # fmt: skip


async def test_a_cleared_field_stays_empty_through_reingest_until_set_again(
    store: PgDocumentStore,
) -> None:
    from_file = dataclasses.replace(policy(), owner="bo@example.com", review_by=date(2020, 1, 1))
    doc_id = await _store(store, from_file)
    cleared = await store.set_metadata(doc_id, MetadataChange(clear=("owner", "review_by")))
    assert (cleared.owner, cleared.review_by) == (None, None)
    changed = policy(sections={"Annual leave": "Everyone gets 30 days."})
    await _store(
        store, dataclasses.replace(changed, owner="bo@example.com", review_by=date(2020, 1, 1))
    )
    again = await store.find(doc_id)
    assert (again.owner, again.review_by) == (None, None)
    set_again = await store.set_metadata(doc_id, MetadataChange(owner="ana@example.com"))
    assert (set_again.owner, set_again.review_by) == ("ana@example.com", None)
    with pytest.raises(MetadataError, match="'status' cannot be cleared"):
        await store.set_metadata(doc_id, MetadataChange(clear=("status",)))
    with pytest.raises(MetadataError, match="'owner' cannot be cleared and set at once"):
        await store.set_metadata(doc_id, MetadataChange(owner="x", clear=("owner",)))
    assert (await store.find(doc_id)).owner == "ana@example.com"


async def test_superseding_an_unknown_document_or_itself_is_refused(
    store: PgDocumentStore,
) -> None:
    await _store(store, policy())
    with pytest.raises(MetadataError, match=r"cannot supersede 'https://nowhere\.test'"):
        await store.set_metadata("Leave Policy", MetadataChange(supersedes="https://nowhere.test"))
    with pytest.raises(MetadataError, match="cannot supersede itself"):
        await store.set_metadata("Leave Policy", MetadataChange(supersedes="Leave Policy"))
    with pytest.raises(DocumentNotFoundError):
        await store.set_metadata("No such policy", MetadataChange(owner="x"))
    assert (await store.find("Leave Policy")).supersedes is None
    result = await store.upsert(
        dataclasses.replace(policy(url=OLD), supersedes="https://nowhere.test"),
        chunk_document(policy(url=OLD)),
    )
    assert result.warning == "it supersedes 'https://nowhere.test', which is not stored"


async def test_each_change_of_sections_keeps_a_version(store: PgDocumentStore) -> None:
    first = policy(sections={"Annual": "20 days.", "Sick": "Call in."})
    await _store(store, first)
    await _store(store, first)  # unchanged: no version
    await _store(store, dataclasses.replace(first, owner="ana@example.com"))  # metadata only
    await _store(store, policy(sections={"Annual": "25 days.", "Parental": "16 weeks."}))
    _, versions = await store.history("Leave Policy")
    assert [v.number for v in versions] == [2, 1]
    assert versions[0].added == ("Leave Policy › Parental",)
    assert versions[0].changed == ("Leave Policy › Annual",)
    assert versions[0].removed == ("Leave Policy › Sick",)
    assert versions[1].added == ("Leave Policy › Annual", "Leave Policy › Sick")
