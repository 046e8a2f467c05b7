"""Where documents come from: files, folders (recursively) and http(s) URLs.

This module reads bytes and decides the format and canonical link; the parsers turn the bytes
into a ``Document``. Every failure is a ``LoadError`` naming the file or URL.
"""

from __future__ import annotations

import asyncio
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import httpx

from knowledge.errors import LoadError
from knowledge.loading.guarded_fetch import BodyTooLarge, Fetched, read_capped
from knowledge.loading.links import DEFAULT_LINK_STYLE, LinkStyle, file_link
from knowledge.loading.source_metadata import SourceMetadata

FORMATS_BY_EXTENSION = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
    ".txt": "text",
    ".text": "text",
}
_FORMATS_BY_MEDIA_TYPE = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "text/plain": "text",
}
_URL_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


@dataclass(frozen=True)
class RawSource:
    """The bytes of one document and what is known about it before parsing.

    ``url`` is the canonical link when the source itself decides it (a fetched URL, or a
    ``--base-url`` join); parsers may find a better one (front matter, ``rel=canonical``) for
    files. ``fallback_url`` is the link to use when nothing better is found.

    For a file, ``origin`` is its absolute path and ``former_urls`` the links it had before
    documents kept their origin (its path under the base URL, or the bare file path): how the
    store recognises it when its link changes. ``slugs`` names the anchors' slug rules.
    ``metadata`` is what the source says about the document (``source_metadata.py``).
    """

    name: str
    data: bytes
    format: str
    url: str | None
    fallback_url: str
    fetched: bool = False
    origin: str | None = None
    former_urls: tuple[str, ...] = ()
    slugs: str = "github"
    # What a connector knows of the document besides its bytes (owner, dates, status).
    metadata: SourceMetadata | None = None


def is_url(target: str) -> bool:
    """Whether ``target`` looks like a URL (any scheme) rather than a path."""
    return bool(_URL_SCHEME.match(target))


def supported_extensions() -> str:
    return ", ".join(sorted(FORMATS_BY_EXTENSION))


def format_for_path(path: Path, name: str) -> str:
    fmt = FORMATS_BY_EXTENSION.get(path.suffix.lower())
    if fmt is None:
        suffix = path.suffix or "(no extension)"
        raise LoadError(name, f"unsupported format {suffix}; supported: {supported_extensions()}")
    return fmt


def files_in(folder: Path) -> tuple[list[Path], list[Path]]:
    """Supported and unsupported files under ``folder``, recursively, hidden ones left out."""
    supported: list[Path] = []
    unsupported: list[Path] = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if path.suffix.lower() in FORMATS_BY_EXTENSION:
            supported.append(path)
        else:
            unsupported.append(path)
    return supported, unsupported


def read_file(
    path: Path,
    *,
    root: Path | None,
    base_url: str | None,
    max_bytes: int,
    style: LinkStyle = DEFAULT_LINK_STYLE,
) -> RawSource:
    """Read one file; ``root`` is the ingested folder its link is made relative to, ``style``
    how that link and the section anchors are made."""
    name = str(path)
    fmt = format_for_path(path, name)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise LoadError(name, f"is {_megabytes(size)}, over the {_megabytes(max_bytes)} limit")
        data = path.read_bytes()
    except LoadError:
        raise
    except IsADirectoryError as e:
        raise LoadError(name, "is a folder") from e
    except OSError as e:
        raise LoadError(name, e.strerror or str(e)) from e
    relative = PurePosixPath(path.relative_to(root).as_posix() if root else path.name)
    resolved = str(path.resolve())
    url = file_link(base_url, relative, style.form) if base_url else None
    former = (file_link(base_url, relative, "path"), resolved) if base_url else (resolved,)
    return RawSource(
        name, data, fmt, url, resolved, origin=resolved, former_urls=former, slugs=style.slugs
    )


def uploaded(name: str, data: bytes, *, link: str, max_bytes: int) -> RawSource:
    """A file someone sent the bot (in chat); ``link`` is where people can open it."""
    fmt = format_for_path(Path(name), name)
    if len(data) > max_bytes:
        raise LoadError(name, f"is {_megabytes(len(data))}, over the {_megabytes(max_bytes)} limit")
    return RawSource(name, data, fmt, None, fallback_url=link)


async def fetch_url(
    url: str, client: httpx.AsyncClient, *, max_bytes: int, deadline: float
) -> RawSource:
    """Download ``url`` within ``deadline`` seconds in all (however slowly the body comes);
    the final URL after redirects becomes the canonical link.

    Unguarded: for the operator's command line. What chat asks for goes through
    ``knowledge.loading.guarded_fetch`` instead.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme not in {"http", "https"}:
        raise LoadError(url, f"unsupported URL scheme {scheme!r}: only http and https")
    try:
        async with asyncio.timeout(deadline), client.stream("GET", url) as response:
            if response.status_code >= 400:
                reason = response.reason_phrase or "error"
                raise LoadError(url, f"the server answered HTTP {response.status_code} {reason}")
            try:
                data = await read_capped(response, max_bytes)
            except BodyTooLarge as e:
                size = f"is {_megabytes(e.declared)}, over" if e.declared else "is over"
                raise LoadError(url, f"{size} the {_megabytes(max_bytes)} limit") from None
            final_url = str(response.url)
            media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    except LoadError:
        raise
    except (httpx.TimeoutException, TimeoutError) as e:
        raise LoadError(url, f"timed out (the limit is {deadline:g} s)") from e
    except httpx.InvalidURL as e:
        raise LoadError(url, f"is not a valid URL ({e})") from e
    except httpx.TooManyRedirects as e:
        raise LoadError(url, "redirects too many times") from e
    except httpx.HTTPError as e:
        raise LoadError(url, f"cannot be reached ({_first_line(e) or type(e).__name__})") from e
    fmt = _format_for_response(url, final_url, media_type)
    return RawSource(url, data, fmt, final_url, final_url, fetched=True)


def web_source(fetched: Fetched) -> RawSource:
    """A page downloaded by the guarded fetcher, ready to parse; linked by its final URL."""
    fmt = _format_for_response(fetched.url, fetched.final_url, fetched.media_type)
    final_url = fetched.final_url
    return RawSource(fetched.url, fetched.data, fmt, final_url, final_url, fetched=True)


def _format_for_response(url: str, final_url: str, media_type: str) -> str:
    path_format = FORMATS_BY_EXTENSION.get(Path(urlsplit(final_url).path).suffix.lower())
    by_type = _FORMATS_BY_MEDIA_TYPE.get(media_type)
    # Servers often label Markdown as text/plain or files as octet-stream; the path knows better.
    if path_format and by_type in (None, "text"):
        return path_format
    if by_type:
        return by_type
    guessed, _ = mimetypes.guess_type(final_url)
    if guessed and guessed in _FORMATS_BY_MEDIA_TYPE:
        return _FORMATS_BY_MEDIA_TYPE[guessed]
    raise LoadError(url, f"unsupported content type {media_type or '(none)'}")


def decode_text(source: RawSource) -> str:
    """The text of a text-based source, refusing binary data."""
    if b"\0" in source.data[:8192]:
        raise LoadError(source.name, "is binary, not text")
    try:
        return source.data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise LoadError(source.name, f"is not UTF-8 text (byte {e.start})") from e


def _megabytes(size: int) -> str:
    return f"{size / 1_048_576:.1f} MB"


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else ""
