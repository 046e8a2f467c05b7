"""HTML pages: headings with their ids as anchors; navigation, headers and footers left out."""

from __future__ import annotations

from urllib.parse import urljoin

from bs4 import BeautifulSoup, Tag

from knowledge.loading.building import build_document, slugify
from knowledge.loading.sources import RawSource, decode_text
from knowledge.types import Document, Section

_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_BLOCKS = {"p", "li", "pre", "blockquote", "dt", "dd", "tr", "figcaption", "caption"}
_BOILERPLATE = ["script", "style", "nav", "footer", "header", "aside", "form", "noscript",
                "template", "svg", "iframe"]  # fmt: skip


def parse_html(source: RawSource) -> Document:
    soup = BeautifulSoup(decode_text(source), "lxml")
    declared_url = _canonical_link(soup, source)
    owner = _meta(soup, "owner") or _meta(soup, "author")
    page_title = soup.title.get_text(" ", strip=True) if soup.title else None
    for tag in soup.find_all(_BOILERPLATE):
        tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    first_h1 = root.find("h1") if isinstance(root, Tag) else None
    title = first_h1.get_text(" ", strip=True) if first_h1 else page_title

    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    anchor = ""
    lines: list[str] = []
    taken: dict[str, int] = {}

    def close() -> None:
        sections.append(Section(tuple(h for _, h in stack), "\n".join(lines).strip(), anchor))

    for element in root.find_all(True) if isinstance(root, Tag) else []:
        if element.name in _HEADINGS:
            close()
            lines = []
            level = int(element.name[1])
            heading = element.get_text(" ", strip=True)
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, heading))
            element_id = _id_of(element)
            anchor = "#" + (element_id or slugify(heading, taken))
        elif element.name in _BLOCKS and not _inside_block(element):
            line = _text_of(element)
            if line:
                lines.append(line)
    close()
    return build_document(
        source, title=title, sections=sections, declared_url=declared_url, owner=owner
    )


def _text_of(element: Tag) -> str:
    if element.name == "tr":
        cells = [c.get_text(" ", strip=True) for c in element.find_all(["td", "th"])]
        return " | ".join(cells)
    if element.name == "pre":
        return element.get_text()
    text = element.get_text(" ", strip=True)
    return f"- {text}" if element.name == "li" and text else text


def _inside_block(element: Tag) -> bool:
    return any(parent.name in _BLOCKS for parent in element.parents)


def _id_of(heading: Tag) -> str:
    """The heading's own id, an id or name inside it, or that of a wrapping <section>."""
    if heading.get("id"):
        return str(heading["id"])
    inner = heading.find(id=True) or heading.find("a", attrs={"name": True})
    if isinstance(inner, Tag):
        return str(inner.get("id") or inner.get("name"))
    parent = heading.parent
    if isinstance(parent, Tag) and parent.name == "section" and parent.get("id"):
        return str(parent["id"])
    return ""


def _canonical_link(soup: BeautifulSoup, source: RawSource) -> str | None:
    link = soup.find("link", rel="canonical")
    if isinstance(link, Tag) and link.get("href"):
        return urljoin(source.url or "", str(link["href"]))
    return None


def _meta(soup: BeautifulSoup, name: str) -> str | None:
    tag = soup.find("meta", attrs={"name": name})
    if isinstance(tag, Tag) and tag.get("content"):
        return str(tag["content"])
    return None
