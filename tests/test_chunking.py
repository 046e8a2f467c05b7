"""Chunking: follows sections, respects size and overlap, stable ids and hashes."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from knowledge.chunking import ChunkingOptions, chunk_document, document_hash, split_text
from knowledge.types import Section
from tests.documents import policy


def test_chunks_follow_sections_and_carry_title_and_headings() -> None:
    chunks = chunk_document(policy())
    assert [c.section for c in chunks] == ["Annual leave", "Sick leave"]
    assert chunks[0].context == "Leave Policy › Annual leave"
    assert chunks[0].embedding_text.startswith("Leave Policy › Annual leave\n\n")
    assert chunks[1].url == "https://handbook.test/leave#sick-leave"
    assert [c.position for c in chunks] == [0, 1]


def test_long_sections_split_within_size_with_overlap() -> None:
    sentences = [f"Sentence number {n} says something about expenses." for n in range(120)]
    options = ChunkingOptions(size=400, overlap=100)
    pieces = split_text(" ".join(sentences), options)
    assert len(pieces) > 10
    assert all(len(p) <= 400 for p in pieces)
    for before, after in itertools.pairwise(pieces):
        assert after.split("\n\n")[0] in before  # the next piece starts with overlap
    joined = " ".join(pieces)
    assert all(s in joined for s in sentences)


def test_paragraphs_are_kept_whole_when_they_fit() -> None:
    text = "First paragraph.\n\nSecond paragraph.\n\n" + "Third. " * 10
    assert split_text(text, ChunkingOptions(size=1000)) == [text.strip()]
    pieces = split_text(text, ChunkingOptions(size=100, overlap=0))
    assert pieces[0] == "First paragraph.\n\nSecond paragraph."


def test_a_giant_word_is_cut_not_lost() -> None:
    pieces = split_text("x" * 2500, ChunkingOptions(size=1000, overlap=0))
    assert all(len(p) <= 1000 for p in pieces)


def test_ids_are_stable_and_hashes_follow_content() -> None:
    document = policy()
    assert [c.id for c in chunk_document(document)] == [c.id for c in chunk_document(document)]
    changed = dataclasses.replace(
        document,
        sections=(document.sections[0], Section(document.sections[1].heading_path, "New text.")),
    )
    before, after = chunk_document(document), chunk_document(changed)
    assert before[0].content_hash == after[0].content_hash
    assert before[1].content_hash != after[1].content_hash
    assert document_hash(document) != document_hash(changed)
    retitled = dataclasses.replace(document, title="Time Off Policy")
    assert chunk_document(retitled)[0].content_hash != before[0].content_hash


def test_empty_sections_make_no_chunks() -> None:
    document = policy(sections={"Empty": "   ", "Full": "Text."})
    assert [c.section for c in chunk_document(document)] == ["Full"]


@pytest.mark.parametrize(("size", "overlap"), [(50, 0), (1000, 600), (1000, -1)])
def test_bad_options_are_refused(size: int, overlap: int) -> None:
    with pytest.raises(ValueError, match="chunk"):
        ChunkingOptions(size=size, overlap=overlap)


def test_small_sections_under_one_top_level_heading_share_a_chunk() -> None:
    title = "Leave Policy"
    sections = (
        Section((title, "Entitlement"), "You get 25 days.", "#entitlement"),
        Section((title, "Entitlement", "Part time"), "Pro rata by hours.", "#part-time"),
        Section((title, "Entitlement", "Long service"), "One extra day.", "#long-service"),
        Section((title, "Booking"), "Book in Harbour.", "#booking"),
        Section((title, "Booking", "Notice"), "x" * 990, "#notice"),
    )
    document = dataclasses.replace(policy(title=title), sections=sections)
    chunks = chunk_document(document)
    assert [c.heading_path for c in chunks] == [
        (title, "Entitlement"),
        (title, "Booking"),
        (title, "Booking", "Notice"),
    ]
    assert chunks[0].text == (
        "You get 25 days.\n\nPart time\nPro rata by hours.\n\nLong service\nOne extra day."
    )
    assert chunks[0].url == "https://handbook.test/leave#entitlement"
    assert chunks[1].text == "Book in Harbour."  # the long section does not fit beside it
