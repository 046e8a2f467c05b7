"""Small documents for tests, built in code so each test shows what it stores."""

from __future__ import annotations

from pathlib import Path

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


# A folder mirrored from a docs site: index pages, READMEs, nested folders, an HTML page and
# names with spaces. Each page's path on the site in the pretty style, and its anchors.
SITE_PAGES = {
    "index.md": "# Handbook\n\nWelcome to the handbook.\n\n## How to use it\n\nSearch first.\n",
    "README.md": "# About this folder\n\nThe handbook's sources.\n",
    "benefits/time-off/index.md": (
        "# Time off\n\n## Paid time off policy\n\nTake at least 30 days a year.\n\n"
        "## Carry-over\n\nUp to five days carry over into the next year.\n"
    ),
    "benefits/travel.md": (
        "# Travel\n\n## Flights & trains -- rules\n\nBook economy for flights under six hours."
        "\n\n## Notes\n\nKeep receipts.\n\n## Notes\n\nAsk the travel desk.\n"
    ),
    "it/README.md": "# IT\n\n## Getting help with `vpn` and [the portal](https://it.test)\n\n"
    "Write to the helpdesk.\n",
    "Office Guide/Desk booking.md": "# Desk booking\n\n## Booking a desk\n\nUse the app.\n",
    "security/passwords.html": (
        "<html><body><main><h1>Passwords</h1><p>Use the password manager.</p>"
        "<h2 id='rotation'>Rotation</h2><p>Change it when told.</p>"
        "<h2>Length &amp; strength</h2><p>Sixteen characters at least.</p></main></body></html>"
    ),
}
SITE_PRETTY_PATHS = {
    "index.md": "",
    "benefits/time-off/index.md": "benefits/time-off",
    "benefits/travel.md": "benefits/travel",
    "it/README.md": "it",
    "Office Guide/Desk booking.md": "Office%20Guide/Desk%20booking",
    "security/passwords.html": "security/passwords",
}


def write_site_folder(root: Path) -> Path:
    """``SITE_PAGES`` written under ``root``; returns the folder."""
    for relative, text in SITE_PAGES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root
