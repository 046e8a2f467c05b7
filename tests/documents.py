"""Small documents for tests, built in code so each test shows what it stores."""

from __future__ import annotations

from knowledge.types import Document, Section


def policy(
    url: str = "https://handbook.test/leave",
    title: str = "Leave Policy",
    sections: dict[str, str] | None = None,
    scopes: tuple[str, ...] = ("public",),
) -> Document:
    sections = sections or {
        "Annual leave": "Everyone gets 25 days of annual leave plus public holidays.",
        "Sick leave": "Tell your manager before 10am on the first day you are ill.",
    }
    return Document(
        title=title,
        url=url,
        source=url,
        format="markdown",
        sections=tuple(
            Section((title, heading), body, "#" + heading.lower().replace(" ", "-"))
            for heading, body in sections.items()
        ),
        scopes=scopes,
    )
