"""Markdown with optional YAML front matter (title, url, owner, scopes, effective, review_by,
status, supersedes)."""

from __future__ import annotations

from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token

from knowledge.errors import LoadError
from knowledge.loading.building import (
    build_document,
    parse_date,
    parse_scopes,
    parse_status,
)
from knowledge.loading.slugs import slugger_for
from knowledge.loading.sources import RawSource, decode_text
from knowledge.types import Document, Section

# markdown-it stops nesting blocks at 20 levels (its maxNesting), so depth costs nothing here.
_PARSER = MarkdownIt("commonmark").enable("table")


class _AliasFound(yaml.YAMLError):
    pass


class _FrontMatterLoader(yaml.SafeLoader):
    """Safe YAML without aliases: ``*name`` repeats a value, and repeats of repeats make a
    few hundred bytes of front matter a title of gigabytes (a "billion laughs")."""

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            raise _AliasFound
        return super().compose_node(parent, index)


def parse_markdown(source: RawSource) -> Document:
    text = decode_text(source)
    meta, body = split_front_matter(text, source.name)
    lines = body.splitlines()
    tokens = _PARSER.parse(body)
    # level, first line, line after, source text, rendered text
    headings: list[tuple[int, int, int, str, str]] = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open" and token.map:
            level = int(token.tag[1])
            inline = tokens[index + 1]
            headings.append((level, token.map[0], token.map[1], inline.content, _shown(inline)))

    title = meta.get("title") or next((h[3] for h in headings if h[0] == 1), None)
    sections: list[Section] = []
    if headings:
        sections.append(Section((), "\n".join(lines[: headings[0][1]]).strip()))
    else:
        sections.append(Section((), body.strip()))
    stack: list[tuple[int, str]] = []
    slugger = slugger_for(source.slugs)
    for position, (level, _start, after, heading, shown) in enumerate(headings):
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, heading))
        end = headings[position + 1][1] if position + 1 < len(headings) else len(lines)
        section_text = "\n".join(lines[after:end]).strip()
        anchor = "#" + slugger.slug(shown)
        sections.append(Section(tuple(h for _, h in stack), section_text, anchor))

    return build_document(
        source,
        title=str(title) if title else None,
        sections=sections,
        declared_url=_optional_str(meta.get("url")),
        owner=_optional_str(meta.get("owner")),
        scopes=parse_scopes(meta.get("scopes"), source.name),
        effective_date=parse_date(meta.get("effective"), "effective", source.name),
        review_by=parse_date(meta.get("review_by"), "review_by", source.name),
        status=parse_status(meta.get("status"), source.name),
        supersedes=_optional_str(meta.get("supersedes")),
    )


def split_front_matter(text: str, name: str) -> tuple[dict[str, Any], str]:
    """The front matter mapping (empty if none) and the Markdown after it."""
    if not text.startswith("---"):
        return {}, text
    lines = text.splitlines()
    if lines[0].strip() != "---":
        return {}, text
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() in {"---", "..."}:
            try:
                meta = yaml.load("\n".join(lines[1:index]), _FrontMatterLoader) or {}
            except _AliasFound:
                raise LoadError(
                    name, "front matter uses YAML aliases (*name); write values out"
                ) from None
            except yaml.YAMLError as e:
                raise LoadError(name, "front matter is not valid YAML") from e
            if not isinstance(meta, dict):
                raise LoadError(name, "front matter is not a mapping of keys to values")
            return meta, "\n".join(lines[index + 1 :])
    raise LoadError(name, "front matter starts with --- but never ends")


def _shown(inline: Token) -> str:
    """A heading's text as a reader sees it (what generators slug): code spans' text kept,
    emphasis marks, HTML tags, images and link targets left out."""
    parts = []
    for child in inline.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
    return "".join(parts)


def _optional_str(value: Any) -> str | None:
    return str(value) if value is not None else None
