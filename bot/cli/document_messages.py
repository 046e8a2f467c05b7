"""What the document commands print: the listing, a document's life (``docs set``,
``history``) and the link check."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date

from knowledge.link_check import LinkCheck
from knowledge.types import DocumentVersion, StoredDocument


def removed(document: StoredDocument) -> str:
    return f"Removed {document.title!r} ({document.id}, {document.chunk_count} chunks)."


def no_documents() -> str:
    return "The knowledge base has no documents yet: add some with `supportbot ingest PATH|URL`."


def document_row(document: StoredDocument, today: date) -> str:
    scopes = ",".join(document.scopes)
    updated = document.updated_at.strftime("%Y-%m-%d %H:%M")
    broken = f"  (link broken: {document.link_problem})" if document.link_problem else ""
    return (
        f"{document.id}  {document.title}  [{scopes}]  {document.chunk_count} chunks  "
        f"v{document.version}  {updated}  {document.url}{broken}{_life(document, today)}"
    )


def _life(document: StoredDocument, today: date) -> str:
    notes = [] if document.status == "active" else [document.status]
    if document.superseded_by:
        notes.append(f"superseded by {document.superseded_by}")
    if document.review_overdue(today):
        notes.append(f"REVIEW OVERDUE since {document.review_by}")
    return "  (" + "; ".join(notes) + ")" if notes else ""


def nothing_to_set() -> str:
    return "give at least one of --owner, --effective, --review-by, --status, --supersedes, --clear"


def metadata_set(document: StoredDocument, today: date) -> str:
    facts = [f"status {document.status}", f"owner {document.owner or 'none'}"]
    facts += [f"effective {document.effective_date or 'not set'}"]
    facts += [f"review by {document.review_by or 'not set'}"]
    if document.supersedes:
        facts.append(f"supersedes {document.supersedes}")
    return f"Set {document.title!r} ({document.id}): {', '.join(facts)}.{_life(document, today)}"


def history_heading(document: StoredDocument, versions: int) -> str:
    return f"{document.title} ({document.id}): {versions} version{'s' if versions != 1 else ''}"


def version_line(version: DocumentVersion) -> str:
    when = version.created_at.strftime("%Y-%m-%d %H:%M")
    if version.added is None or version.changed is None or version.removed is None:
        return f"v{version.number}  {when}  (sections not recorded: stored before versions were)"
    counts = f"+{len(version.added)} ~{len(version.changed)} -{len(version.removed)}"
    named = [
        f"{what}: {', '.join(names)}"
        for what, names in (
            ("added", version.added), ("changed", version.changed), ("removed", version.removed)
        )
        if names
    ]  # fmt: skip
    return f"v{version.number}  {when}  {counts} sections  " + "; ".join(named)


def link_check_line(check: LinkCheck) -> str:
    """One document whose link is not known to open, and why."""
    target = check.target
    hint = ""
    if check.verdict == "not allowed":
        hint = " (add the network or host to SUPPORTBOT_FETCH_ALLOWED_NETWORKS to check it)"
    return f"{check.verdict:<12} {target.title}  {target.url}: {check.problem}{hint}"


def link_check_summary(checks: Sequence[LinkCheck]) -> str:
    counts = Counter(c.verdict for c in checks)
    detail = ", ".join(f"{n} {verdict}" for verdict, n in sorted(counts.items()))
    noun = "document" if len(checks) == 1 else "documents"
    marked = " `docs` and /kb list mark the broken ones." if counts["broken"] else ""
    return f"Checked the links of {len(checks)} {noun}: {detail}.{marked}"
