"""Loaders for every format, every kind of source, and every kind of bad input."""

from __future__ import annotations

import asyncio
import io
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import docx
import pytest
from aiohttp import web
from fpdf import FPDF

from knowledge.loading import LinkStyle, LoadOptions, LoadOutcome, load
from knowledge.samples import SAMPLE_BASE_URL, SAMPLE_DOCS
from tests.loopback import drip, serve

MARKDOWN = """---
title: Travel Policy
url: https://handbook.test/travel
owner: Finance Team
scopes: [public, finance]
effective: 2026-01-01
review_by: 2027-01-01
---
# Travel Policy

Intro paragraph.

## Booking trains

Book through the portal.

### Seat classes

Standard class only.

## Booking trains

A second section with the same heading.
"""

HTML = """<!doctype html><html><head><title>Equipment | Handbook</title>
<link rel="canonical" href="https://handbook.test/equipment">
<meta name="owner" content="IT Team"></head>
<body><nav><a href="/">Home</a> Menu text</nav>
<main><h1>Equipment Policy</h1><p>Laptops are provided.</p>
<h2 id="monitors">Monitors</h2><p>You can order <b>two</b> monitors.</p>
<ul><li>27 inch</li><li>USB-C</li></ul>
<h2>Chairs</h2><table><tr><th>Item</th><th>Limit</th></tr><tr><td>Chair</td><td>£300</td></tr></table>
</main><footer>© Example Ltd. All rights reserved.</footer></body></html>
"""


async def load_all(targets: list[str], options: LoadOptions | None = None) -> list[LoadOutcome]:
    return [outcome async for outcome in load(targets, options)]


async def load_one(target: str, options: LoadOptions | None = None) -> LoadOutcome:
    [outcome] = await load_all([target], options)
    return outcome


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def make_pdf() -> bytes:
    pdf = FPDF()
    pdf.set_title("Expenses Policy")
    pdf.set_author("Finance Team")
    for page, heading in enumerate(["Meals", "Taxis"], start=1):
        pdf.add_page()
        pdf.set_font("Helvetica", size=9)
        pdf.cell(0, 8, "Example Ltd - Expenses Policy", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", style="B", size=16)
        pdf.cell(0, 10, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        pdf.multi_cell(0, 6, f"Rules for {heading.lower()} on page {page}. " * 5)
        pdf.set_font("Helvetica", size=9)
        pdf.cell(0, 8, f"Page {page} of 2", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def make_docx() -> bytes:
    document = docx.Document()
    document.core_properties.title = "Onboarding Checklist"
    document.core_properties.author = "People Team"
    document.add_heading("Onboarding Checklist", level=0)
    document.add_heading("Before day one", level=1)
    document.add_paragraph("Order the laptop.", style="List Number")
    document.add_heading("Accounts", level=2)
    document.add_paragraph("Create the Google account.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Owner"
    table.rows[0].cells[1].text = "IT"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


async def test_markdown_front_matter_headings_and_anchors(tmp_path: Path) -> None:
    outcome = await load_one(str(write(tmp_path / "travel.md", MARKDOWN)))
    document = outcome.document
    assert document is not None
    assert document.title == "Travel Policy"
    assert document.url == "https://handbook.test/travel"
    assert document.owner == "Finance Team"
    assert document.scopes == ("public", "finance")
    assert str(document.effective_date) == "2026-01-01"
    assert str(document.review_by) == "2027-01-01"
    paths = [(s.heading_path, s.anchor) for s in document.sections]
    assert paths == [
        (("Travel Policy",), "#travel-policy"),
        (("Travel Policy", "Booking trains"), "#booking-trains"),
        (("Travel Policy", "Booking trains", "Seat classes"), "#seat-classes"),
        (("Travel Policy", "Booking trains"), "#booking-trains-1"),
    ]
    assert document.link_to(document.sections[2]) == "https://handbook.test/travel#seat-classes"


async def test_file_links_use_base_url_then_path(tmp_path: Path) -> None:
    write(tmp_path / "kb" / "people" / "leave.md", "# Leave\n\nTwenty-five days.\n")
    [outcome] = await load_all([str(tmp_path / "kb")], LoadOptions(base_url="https://hb.test/x"))
    assert outcome.document is not None
    assert outcome.document.url == "https://hb.test/x/people/leave"
    path_style = LoadOptions(base_url="https://hb.test/x", link_style=LinkStyle("path"))
    [outcome] = await load_all([str(tmp_path / "kb")], path_style)
    assert outcome.document is not None
    assert outcome.document.url == "https://hb.test/x/people/leave.md"

    plain = await load_one(str(tmp_path / "kb" / "people" / "leave.md"))
    assert plain.document is not None
    assert plain.document.url == str((tmp_path / "kb" / "people" / "leave.md").resolve())


async def test_html_skips_boilerplate_and_uses_heading_ids(tmp_path: Path) -> None:
    outcome = await load_one(str(write(tmp_path / "equipment.html", HTML)))
    document = outcome.document
    assert document is not None
    assert document.title == "Equipment Policy"
    assert document.url == "https://handbook.test/equipment"
    assert document.owner == "IT Team"
    text = "\n".join(s.text for s in document.sections)
    assert "Menu text" not in text and "rights reserved" not in text
    monitors = next(s for s in document.sections if s.heading_path[-1] == "Monitors")
    assert monitors.anchor == "#monitors"
    assert "You can order two monitors." in monitors.text
    assert "- 27 inch" in monitors.text
    chairs = next(s for s in document.sections if s.heading_path[-1] == "Chairs")
    assert chairs.anchor == "#chairs"
    assert "Chair | £300" in chairs.text


async def test_pdf_headings_pages_and_no_running_headers(tmp_path: Path) -> None:
    outcome = await load_one(str(write(tmp_path / "expenses.pdf", make_pdf())))
    document = outcome.document
    assert document is not None, outcome.error
    assert document.title == "Expenses Policy"
    assert document.owner == "Finance Team"
    by_heading = {s.heading_path[-1]: s for s in document.sections}
    assert by_heading["Meals"].anchor == "#page=1"
    assert by_heading["Taxis"].anchor == "#page=2"
    assert "Rules for taxis on page 2." in by_heading["Taxis"].text
    text = "\n".join(s.text for s in document.sections)
    assert "Example Ltd - Expenses Policy" not in text
    assert "Page 1 of 2" not in text


async def test_docx_headings_lists_and_tables(tmp_path: Path) -> None:
    outcome = await load_one(str(write(tmp_path / "onboarding.docx", make_docx())))
    document = outcome.document
    assert document is not None, outcome.error
    assert document.title == "Onboarding Checklist"
    assert document.owner == "People Team"
    paths = {s.heading_path: s.text for s in document.sections}
    assert paths[("Before day one",)] == "- Order the laptop."
    assert paths[("Before day one", "Accounts")] == "Create the Google account.\nOwner | IT"


async def test_plain_text_title_is_the_first_line(tmp_path: Path) -> None:
    outcome = await load_one(str(write(tmp_path / "hours.txt", "Helpdesk hours\n\n9 to 5.\n")))
    assert outcome.document is not None
    assert outcome.document.title == "Helpdesk hours"
    assert outcome.document.sections[0].text == "9 to 5."


async def test_the_sample_knowledge_base_loads_completely() -> None:
    outcomes = await load_all([str(SAMPLE_DOCS)], LoadOptions(base_url=SAMPLE_BASE_URL))
    failures = [str(o.error) for o in outcomes if o.document is None]
    assert failures == []
    documents = [o.document for o in outcomes if o.document is not None]
    assert len(documents) >= 20
    assert {d.format for d in documents} == {"markdown", "html", "pdf", "docx", "text"}
    assert all(d.url.startswith(SAMPLE_BASE_URL) for d in documents)
    assert {"hr", "finance"} <= {scope for d in documents for scope in d.scopes}


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "is not a readable PDF"),
        ("broken.docx", b"PK\x03\x04 not a zip", "is not a readable DOCX file"),
        ("empty.md", b"", "has no text"),
        ("only-front-matter.md", b"---\ntitle: x\n---\n", "has no text"),
        ("binary.md", b"\x00\x01\x02\x03binary", "is binary, not text"),
        ("latin1.txt", "caf\xe9 menu".encode("latin-1"), "is not UTF-8 text"),
        (
            "bad-yaml.md",
            b"---\ntitle: [unclosed\n---\n# T\n\nx\n",
            "front matter is not valid YAML",
        ),
        ("bad-date.md", b"---\neffective: soon\n---\n# T\n\nx\n", "effective 'soon' is not a date"),
        ("photo.png", b"\x89PNG\r\n", "unsupported format .png"),
    ],
)
async def test_bad_files_get_one_line_errors(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = write(tmp_path / name, content)
    outcome = await load_one(str(path))
    assert outcome.document is None
    message = str(outcome.error)
    assert message.startswith(f"{path}: ")
    assert reason in message
    assert "\n" not in message


async def test_oversized_and_missing_files(tmp_path: Path) -> None:
    big = write(tmp_path / "big.txt", "Title\n" + "x" * 5000)
    outcome = await load_one(str(big), LoadOptions(max_bytes=1000))
    assert "over the 0.0 MB limit" in str(outcome.error)
    missing = await load_one(str(tmp_path / "nope.md"))
    assert str(missing.error) == f"{tmp_path / 'nope.md'}: no such file, folder or URL"


async def test_a_bad_file_does_not_stop_the_folder(tmp_path: Path) -> None:
    write(tmp_path / "a.md", "# A\n\nFine.\n")
    write(tmp_path / "b.pdf", b"garbage")
    write(tmp_path / "c.html", "<h1>C</h1><p>Fine too.</p>")
    write(tmp_path / "d.png", b"\x89PNG")
    write(tmp_path / ".hidden" / "e.md", "# E\n\nHidden.\n")
    outcomes = await load_all([str(tmp_path)])
    loaded = sorted(o.document.title for o in outcomes if o.document)
    failed = [o.source for o in outcomes if o.error and not o.skipped]
    skipped = [o.source for o in outcomes if o.skipped]
    assert loaded == ["A", "C"]
    assert failed == [str(tmp_path / "b.pdf")]
    assert skipped == [str(tmp_path / "d.png")]


@pytest.fixture
async def web_server() -> AsyncIterator[str]:
    """A loopback HTTP server with pages, redirects, errors and an oversized file."""

    async def page(_request: web.Request) -> web.Response:
        return web.Response(text=HTML, content_type="text/html")

    async def markdown(_request: web.Request) -> web.Response:
        return web.Response(text="# Notes\n\nPlain markdown.\n", content_type="text/plain")

    async def moved(_request: web.Request) -> web.Response:
        raise web.HTTPFound("/policies/equipment")

    async def huge(_request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 50_000, content_type="text/plain")

    async def image(_request: web.Request) -> web.Response:
        return web.Response(body=b"\x89PNG", content_type="image/png")

    app = web.Application()
    app.router.add_get("/policies/equipment", page)
    app.router.add_get("/notes.md", markdown)
    app.router.add_get("/old", moved)
    app.router.add_get("/huge.txt", huge)
    app.router.add_get("/logo", image)
    async with serve(app) as base_url:
        yield base_url


async def test_urls_are_fetched_and_linked_by_their_final_address(web_server: str) -> None:
    outcome = await load_one(f"{web_server}/old")
    assert outcome.document is not None, outcome.error
    assert outcome.document.url == f"{web_server}/policies/equipment"
    monitors = next(s for s in outcome.document.sections if s.anchor == "#monitors")
    assert outcome.document.link_to(monitors) == f"{web_server}/policies/equipment#monitors"

    notes = await load_one(f"{web_server}/notes.md")
    assert notes.document is not None
    assert notes.document.format == "markdown"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_bad_urls_get_one_line_errors(web_server: str) -> None:
    cases = {
        f"{web_server}/missing": "the server answered HTTP 404 Not Found",
        f"{web_server}/logo": "unsupported content type image/png",
        f"http://127.0.0.1:{closed_port()}/x": "cannot be reached",
        "ftp://files.test/policy.pdf": "unsupported URL scheme 'ftp': only http and https",
        "file:///etc/passwd": "unsupported URL scheme 'file'",
    }
    for url, reason in cases.items():
        outcome = await load_one(url)
        message = str(outcome.error)
        assert message.startswith(f"{url}: "), message
        assert reason in message, message
        assert "\n" not in message
    huge = await load_one(f"{web_server}/huge.txt", LoadOptions(max_bytes=10_000))
    assert "over the 0.0 MB limit" in str(huge.error)


async def test_a_url_that_drips_is_stopped_at_the_total_deadline() -> None:
    app = web.Application()
    app.router.add_get("/drip.txt", drip)
    async with serve(app) as base_url:
        started = time.monotonic()
        outcome = await asyncio.wait_for(
            load_one(f"{base_url}/drip.txt", LoadOptions(timeout=1.0)), 15
        )
    assert time.monotonic() - started < 3
    assert "timed out (the limit is 1 s)" in str(outcome.error)
