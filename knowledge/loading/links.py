"""How a file ingested with a base URL is linked: the link style, and each file's link.

A style has a form and a slugger. The form says how a file's path in the folder becomes the
path of its page on the site:

- ``pretty`` (the default), as static-site generators publish: ``benefits/time-off/index.md``
  and ``benefits/time-off/README.md`` are ``benefits/time-off``, ``travel.md`` and
  ``travel.html`` are ``travel``.
- ``html``: Markdown becomes ``.html`` (a README becomes ``index.html``, as MkDocs and GitHub
  Pages publish it); HTML files keep their names.
- ``path``: the file's own path, extension included.

PDF, Word and text files are served as they are, so they keep their path in every form. The
slugger (``github`` unless named, as in ``pretty:mkdocs``) makes the section anchors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import quote, urljoin

from knowledge.loading.slugs import SLUGGERS

FORMS = ("pretty", "html", "path")
_PAGES = frozenset({".md", ".markdown", ".html", ".htm"})
_MARKDOWN = frozenset({".md", ".markdown"})


@dataclass(frozen=True)
class LinkStyle:
    """How links and anchors are made for the files of a folder: ``form`` is one of ``FORMS``,
    ``slugs`` one of ``knowledge.loading.slugs.SLUGGERS``."""

    form: str = "pretty"
    slugs: str = "github"

    @property
    def name(self) -> str:
        """How the style is written: ``pretty``, ``html:mkdocs``, ..."""
        return self.form if self.slugs == "github" else f"{self.form}:{self.slugs}"

    @classmethod
    def parse(cls, text: str) -> LinkStyle:
        """The style written as ``FORM`` or ``FORM:SLUGGER``; raises ``ValueError`` with a
        one-line message naming what was wrong."""
        form, _, slugs = text.strip().lower().partition(":")
        if form not in FORMS or (slugs and slugs not in SLUGGERS):
            raise ValueError(
                f"unknown link style {text!r}: use {', '.join(FORMS)}, optionally followed by "
                f"{' or '.join(':' + s for s in SLUGGERS)} for the anchors (e.g. pretty:mkdocs)"
            )
        return cls(form, slugs or "github")


DEFAULT_LINK_STYLE = LinkStyle()


def published_path(relative: PurePosixPath, form: str) -> str:
    """The path of ``relative``'s page on the site in ``form`` ('' for the site's front page)."""
    suffix = relative.suffix.lower()
    if form == "path" or suffix not in _PAGES:
        return relative.as_posix()
    index = relative.stem == "index" or relative.stem.lower() == "readme"
    if form == "html":
        if suffix not in _MARKDOWN:
            return relative.as_posix()
        name = "index" if index else relative.stem
        return (relative.parent / f"{name}.html").as_posix()
    page = relative.parent if index else relative.parent / relative.stem
    return "" if page == PurePosixPath(".") else page.as_posix()


def file_link(base_url: str, relative: PurePosixPath, form: str) -> str:
    """The link of the file at ``relative`` in a folder published at ``base_url``."""
    return urljoin(base_url.rstrip("/") + "/", quote(published_path(relative, form)))


def clashes(relatives: Iterable[PurePosixPath], form: str) -> dict[PurePosixPath, PurePosixPath]:
    """Files whose page is another file's in ``form``, each mapped to the file that keeps it.

    An ``index`` page keeps it over a README (static-site generators publish the index and
    leave the README out); otherwise the first file in sorted order keeps it.
    """
    keeper: dict[str, PurePosixPath] = {}
    for relative in sorted(relatives, key=lambda r: (not _is_index(r), r.as_posix())):
        keeper.setdefault(published_path(relative, form), relative)
    return {
        relative: keeper[published_path(relative, form)]
        for relative in relatives
        if keeper[published_path(relative, form)] != relative
    }


def is_readme(relative: PurePosixPath) -> bool:
    """Whether ``relative`` is a README page (left out beside an index page)."""
    return relative.stem.lower() == "readme" and relative.suffix.lower() in _PAGES


def _is_index(relative: PurePosixPath) -> bool:
    return relative.stem == "index" and relative.suffix.lower() in _PAGES
