"""HTML pages: headings with their ids as anchors; navigation, headers, footers and hidden text
left out. ``<meta name=...>`` gives the owner (or author), effective, review-by, status and
supersedes.

Hidden means hidden from the page's readers, who must not be answered from text they never
saw: the ``hidden`` attribute (not ``hidden="until-found"``, which a reader's search opens, like
a closed ``<details>``), ``aria-hidden="true"``, inline ``display: none`` or ``visibility:
hidden``, ``<template>`` and ``<noscript>`` (shown only with scripts off; it holds "enable
JavaScript" notices and tracking pixels). Stylesheets are not evaluated: text hidden by a CSS
class is still read.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

from bs4 import BeautifulSoup, Tag
from lxml import etree  # type: ignore[import-untyped]

from knowledge.errors import LoadError
from knowledge.loading.building import build_document, parse_date, parse_status
from knowledge.loading.limits import MEGABYTE, ParseLimits, megabytes
from knowledge.loading.slugs import slugger_for
from knowledge.loading.sources import RawSource, decode_text
from knowledge.types import Document, Section

_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_BLOCKS = {"p", "li", "pre", "blockquote", "dt", "dd", "tr", "figcaption", "caption"}
_BOILERPLATE = ["script", "style", "nav", "footer", "header", "aside", "form", "noscript",
                "template", "svg", "iframe"]  # fmt: skip


def parse_html(source: RawSource, limits: ParseLimits) -> Document:
    """A page's sections, if it is within ``limits``' size, element count and nesting depth."""
    if len(source.data) > limits.html_max_mb * MEGABYTE:
        raise LoadError(
            source.name,
            f"is {megabytes(len(source.data))}, over the "
            f"{megabytes(limits.html_max_mb * MEGABYTE)} limit for HTML",
        )
    markup = decode_text(source)
    _check_shape(markup, source.name, limits)
    soup = BeautifulSoup(markup, "lxml")
    declared_url = _canonical_link(soup, source)
    owner = _meta(soup, "owner") or _meta(soup, "author")
    effective = parse_date(_meta(soup, "effective"), "effective", source.name)
    review_by = _meta(soup, "review-by") or _meta(soup, "review_by")
    status = parse_status(_meta(soup, "status"), source.name)
    supersedes = _meta(soup, "supersedes")
    page_title = soup.title.get_text(" ", strip=True) if soup.title else None
    for tag in [*soup.find_all(_BOILERPLATE), *soup.find_all(_is_hidden)]:
        if not tag.decomposed:
            tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    first_h1 = root.find("h1") if isinstance(root, Tag) else None
    title = first_h1.get_text(" ", strip=True) if first_h1 else page_title

    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    anchor = ""
    lines: list[str] = []
    slugger = slugger_for(source.slugs)

    def close() -> None:
        sections.append(Section(tuple(h for _, h in stack), "\n".join(lines).strip(), anchor))

    # Whether each element is or sits in a block, from its parent's answer: walking every
    # element's ancestors instead is quadratic in the nesting depth.
    outer = any(parent.name in _BLOCKS for parent in root.parents)
    in_block: dict[int, bool] = {}
    for element in root.find_all(True) if isinstance(root, Tag) else []:
        inside = in_block.get(id(element.parent), outer)
        in_block[id(element)] = inside or element.name in _BLOCKS
        if element.name in _HEADINGS:
            close()
            lines = []
            level = int(element.name[1])
            heading = element.get_text(" ", strip=True)
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, heading))
            element_id = _id_of(element)
            anchor = "#" + (element_id or slugger.slug(heading))
        elif element.name in _BLOCKS and not inside:
            line = _text_of(element)
            if line:
                lines.append(line)
    close()
    return build_document(
        source,
        title=title,
        sections=sections,
        declared_url=declared_url,
        owner=owner,
        effective_date=effective,
        review_by=parse_date(review_by, "review-by", source.name),
        status=status,
        supersedes=supersedes,
    )


class _TooBig(Exception):
    """Raised from inside lxml's parse to stop it at the first element over a limit."""


class _Shape:
    """An lxml parser target that only counts elements and nesting, without building a tree."""

    def __init__(self, limits: ParseLimits) -> None:
        self._limits = limits
        self.elements = 0
        self.depth = 0

    def start(self, _tag: str, _attributes: Any) -> None:
        self.elements += 1
        self.depth += 1
        if self.elements > self._limits.html_max_elements:
            raise _TooBig(f"has over {self._limits.html_max_elements} elements, the HTML limit")
        if self.depth > self._limits.html_max_depth:
            raise _TooBig(
                f"nests elements over {self._limits.html_max_depth} levels deep, the HTML limit"
            )

    def end(self, _tag: str) -> None:
        self.depth -= 1

    def close(self) -> None:
        return None


def _check_shape(markup: str, name: str, limits: ParseLimits) -> None:
    # The same parser as BeautifulSoup's "lxml" builder, so the same elements and nesting.
    parser = etree.HTMLParser(target=_Shape(limits))
    try:
        parser.feed(markup)
        parser.close()
    except _TooBig as e:
        raise LoadError(name, str(e)) from None


def _is_hidden(tag: Tag) -> bool:
    hidden = tag.get("hidden")
    if hidden is not None and str(hidden).strip().lower() != "until-found":
        return True
    if str(tag.get("aria-hidden", "")).strip().lower() == "true":
        return True
    style = tag.get("style")
    return style is not None and _style_hides(str(style))


def _style_hides(style: str) -> bool:
    """Whether inline CSS hides the element, by the ``display`` or ``visibility`` that wins."""
    winning: dict[str, str] = {}
    important: set[str] = set()
    for declaration in "".join(_without_comments(style).split()).lower().split(";"):
        name, _, value = declaration.partition(":")
        if name not in ("display", "visibility"):
            continue
        if value.endswith("!important"):
            important.add(name)
        elif name in important:
            continue
        winning[name] = value.removesuffix("!important")
    return winning.get("display") == "none" or winning.get("visibility") in ("hidden", "collapse")


def _without_comments(css: str) -> str:
    # str.find, not a regex: /\*.*?\*/ is quadratic on many unclosed comments.
    kept: list[str] = []
    start = 0
    while (opening := css.find("/*", start)) != -1:
        kept.append(css[start:opening])
        closing = css.find("*/", opening + 2)
        if closing == -1:
            return "".join(kept)
        start = closing + 2
    kept.append(css[start:])
    return "".join(kept)


def _text_of(element: Tag) -> str:
    if element.name == "tr":
        cells = [c.get_text(" ", strip=True) for c in element.find_all(["td", "th"])]
        return " | ".join(cells)
    if element.name == "pre":
        return element.get_text()
    text = element.get_text(" ", strip=True)
    return f"- {text}" if element.name == "li" and text else text


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
