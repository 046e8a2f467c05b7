"""Links of folders ingested with a base URL: the styles, their anchors, and re-ingests that
change a folder's style (relinked in place, nothing embedded again)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from knowledge.embedders import HashingEmbedder
from knowledge.ingest import IngestReport, ingest
from knowledge.loading import LinkStyle, LoadOptions, LoadOutcome, load
from knowledge.loading.slugs import GitHubSlugger, MkDocsSlugger
from knowledge.retrieval import PgHybridRetriever
from knowledge.store import PgDocumentStore
from knowledge.types import Query
from tests.documents import SITE_PRETTY_PATHS, write_site_folder

BASE = "https://handbook.example.com/"


async def load_all(folder: Path, style: LinkStyle | None = None) -> list[LoadOutcome]:
    options = LoadOptions(base_url=BASE, link_style=style)
    return [outcome async for outcome in load([str(folder)], options)]


def links(outcomes: list[LoadOutcome], folder: Path) -> dict[str, str]:
    return {
        Path(o.source).relative_to(folder).as_posix(): o.document.url
        for o in outcomes
        if o.document is not None
    }


async def test_pretty_links_are_the_pages_a_site_publishes(tmp_path: Path) -> None:
    folder = write_site_folder(tmp_path / "docs")
    outcomes = await load_all(folder)
    assert links(outcomes, folder) == {f: BASE + p for f, p in SITE_PRETTY_PATHS.items()}
    [readme] = [o for o in outcomes if o.document is None]
    assert readme.skipped and readme.source == str(folder / "README.md")
    assert "index.md is the page of its folder" in str(readme.error)


async def test_html_and_path_styles(tmp_path: Path) -> None:
    folder = write_site_folder(tmp_path / "docs")
    assert links(await load_all(folder, LinkStyle("html")), folder) == {
        "index.md": BASE + "index.html",
        "benefits/time-off/index.md": BASE + "benefits/time-off/index.html",
        "benefits/travel.md": BASE + "benefits/travel.html",
        "it/README.md": BASE + "it/index.html",
        "Office Guide/Desk booking.md": BASE + "Office%20Guide/Desk%20booking.html",
        "security/passwords.html": BASE + "security/passwords.html",
    }
    as_paths = links(await load_all(folder, LinkStyle("path")), folder)
    assert as_paths["README.md"] == BASE + "README.md"
    assert as_paths["Office Guide/Desk booking.md"] == BASE + "Office%20Guide/Desk%20booking.md"
    assert as_paths["benefits/time-off/index.md"] == BASE + "benefits/time-off/index.md"


async def test_two_files_with_one_page_are_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "docs" / "leave").mkdir(parents=True)
    (tmp_path / "docs" / "leave.md").write_text("# Leave\n\nShort version.\n")
    (tmp_path / "docs" / "leave" / "index.md").write_text("# Leave\n\nLong version.\n")
    outcomes = await load_all(tmp_path / "docs")
    [refused] = [o for o in outcomes if o.document is None]
    assert not refused.skipped
    docs = tmp_path / "docs"
    assert str(refused.error) == (
        f"{docs / 'leave.md'}: would link to {BASE}leave, as {docs / 'leave' / 'index.md'} does:"
        " rename one, or use the path style"
    )
    path_style = await load_all(tmp_path / "docs", LinkStyle("path"))
    assert all(o.document is not None for o in path_style)


async def test_anchors_follow_the_sluggers_rules(tmp_path: Path) -> None:
    folder = write_site_folder(tmp_path / "docs")

    def anchors(outcomes: list[LoadOutcome], name: str) -> list[str]:
        [document] = [o.document for o in outcomes if o.source == str(folder / name)]
        assert document is not None
        return [s.anchor for s in document.sections if s.anchor]

    github = await load_all(folder)
    mkdocs = await load_all(folder, LinkStyle.parse("pretty:mkdocs"))
    travel = "benefits/travel.md"
    assert anchors(github, travel) == ["#flights--trains----rules", "#notes", "#notes-1"]
    assert anchors(mkdocs, travel) == ["#flights-trains-rules", "#notes", "#notes_1"]
    # A heading is slugged as it reads: the code span's text, the link's words, not its URL.
    assert anchors(github, "it/README.md") == ["#getting-help-with-vpn-and-the-portal"]
    # An HTML page's own ids win; a heading without one gets the slugger's.
    passwords = "security/passwords.html"
    assert anchors(github, passwords) == ["#passwords", "#rotation", "#length--strength"]
    assert anchors(mkdocs, passwords) == ["#passwords", "#rotation", "#length-strength"]


def test_the_sluggers_match_github_and_python_markdown() -> None:
    # Expected values as github-slugger and markdown.extensions.toc produce them.
    cases = [
        ("Café & Bar -- Rules", "café--bar----rules", "cafe-bar-rules"),
        ("C++ / C#", "c--c", "c-c"),
        ("snake_case_name", "snake_case_name", "snake_case_name"),
        ("Ünïcödé 日本語", "ünïcödé-日本語", "unicode"),
        ("Notes", "notes", "notes"),
        ("Notes", "notes-1", "notes_1"),
        ("Notes-1", "notes-1-1", "notes-1"),
        ("!!!", "", "_1"),
    ]
    github, mkdocs = GitHubSlugger(), MkDocsSlugger()
    assert [(h, github.slug(h), mkdocs.slug(h)) for h, _, _ in cases] == cases


def test_an_unknown_style_is_named() -> None:
    with pytest.raises(ValueError, match="unknown link style 'fancy': use pretty, html, path"):
        LinkStyle.parse("fancy")
    with pytest.raises(ValueError, match="'pretty:hugo'"):
        LinkStyle.parse("pretty:hugo")
    assert LinkStyle.parse(" HTML:MkDocs ") == LinkStyle("html", "mkdocs")
    assert LinkStyle.parse("html:mkdocs").name == "html:mkdocs"
    assert LinkStyle.parse("path:github").name == "path"


async def ingest_folder(
    store: PgDocumentStore, folder: Path, style: LinkStyle | None = None, base: str | None = BASE
) -> list[IngestReport]:
    options = LoadOptions(base_url=base, link_style=style)
    return [r async for r in ingest([str(folder)], store, load_options=options)]


def statuses(reports: list[IngestReport]) -> set[str]:
    return {r.result.status for r in reports if r.result is not None}


async def test_a_new_style_relinks_without_embedding_and_is_remembered(
    store: PgDocumentStore,
    retriever: PgHybridRetriever,
    embedder: HashingEmbedder,
    tmp_path: Path,
) -> None:
    folder = write_site_folder(tmp_path / "docs")
    first = await ingest_folder(store, folder, LinkStyle("path"))
    assert statuses(first) == {"added"} and embedder.calls > 0
    before = {d.title: d for d in await store.list_documents()}
    assert before["Time off"].url == BASE + "benefits/time-off/index.md"
    embedded = embedder.calls

    # No style given: the folder's own (path) is used again, so nothing changes.
    assert statuses(await ingest_folder(store, folder)) == {"unchanged"}

    relinked = await ingest_folder(store, folder, LinkStyle.parse("pretty:mkdocs"))
    assert statuses(relinked) == {"relinked"}
    assert embedder.calls == embedded, "relinking embedded something"
    after = {d.title: d for d in await store.list_documents()}
    assert after.keys() == before.keys()  # the same documents, none added beside them
    assert after["Time off"].url == BASE + "benefits/time-off"
    assert after["Travel"].url == BASE + "benefits/travel"
    assert statuses(await ingest_folder(store, folder)) == {"unchanged"}  # remembered
    assert embedder.calls == embedded

    hits = await retriever.search(Query("flights economy six hours", k=5))
    assert BASE + "benefits/travel#flights-trains-rules" in {h.url for h in hits}


async def test_documents_stored_before_origins_are_relinked_not_added_again(
    store: PgDocumentStore, engine: AsyncEngine, embedder: HashingEmbedder, tmp_path: Path
) -> None:
    async def forget_origins() -> None:
        async with engine.begin() as connection:
            # As migration 0008 leaves what was stored before it.
            await connection.execute(text("UPDATE documents SET origin = NULL"))
            await connection.execute(text("DELETE FROM folder_link_styles"))

    folder = write_site_folder(tmp_path / "docs")
    await ingest_folder(store, folder, LinkStyle("path"))
    await forget_origins()
    # Before origins, ingesting without a base URL added the same files again, as bare paths.
    await ingest_folder(store, tmp_path / "docs" / "benefits", base=None)
    await forget_origins()
    count = len(await store.list_documents())
    assert count == 9
    embedded = embedder.calls

    reports = await ingest_folder(store, folder)
    assert statuses(reports) == {"relinked"}
    assert embedder.calls == embedded
    documents = await store.list_documents()
    # The two bare-path copies of the benefits pages went with their pretty relinks.
    assert len(documents) == count - 2
    assert {d.url for d in documents} >= {BASE + p for p in SITE_PRETTY_PATHS.values()}
