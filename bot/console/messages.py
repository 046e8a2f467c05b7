"""The console's sentences, in one place."""

from __future__ import annotations

TITLE = "Supportbot console"
NOT_SIGNED_IN = (
    "You are not signed in. Ask the bot for a link: /kb console in Slack, kb console in Teams."
)
LINK_REFUSED = (
    "This sign-in link is not valid: it was used already, it expired (links last 10 minutes) "
    "or it was mistyped. Ask the bot for a new one."
)
CSRF_REFUSED = "This form has expired or did not come from the console. Reload the page and retry."
SIGNED_OUT = "You are signed out."
OPEN_IN_BROWSER = "Open this sign-in link in your browser."
EMPTY_ANSWER = "Write an answer before sending it."
NO_PUBLIC_URL = (
    "The console needs SUPPORTBOT_PUBLIC_URL (the address people reach this server at) "
    "to make sign-in links."
)
NOT_AN_ADMIN = "Only admins (SLACK_ADMINS, TEAMS_ADMINS) get console links."
OVERVIEW = "Overview: questions per day"
OVERVIEW_NOTE = (
    "Answered, declined (not covered by the documents), failed (model unavailable, limits, "
    "bad input) and cached answers per day; votes by the day they were given; model cost; "
    "median and 95th percentile time to answer. The table under the charts has the same figures."
)
GAPS = "Unanswered questions"
GAPS_NOTE = (
    "Questions the bot declined, answered unsure of its sources, or that got 👎. Answering one "
    "stores the answer as a document and tells the askers, as answering it in chat does."
)
# The gaps page's filters: each gap's reason, as admins read it.
GAP_REASONS = {
    "declined": "Declined",
    "unsure": "Answered unsure",
    "downvoted": "Got 👎",
    "improve": "Asked to improve",
}
DOCUMENTS = "Documents"
DOCUMENTS_NOTE = (
    "Each document with how many answers cited it in the last 30 days and when one last did; "
    '"never" marks documents no recorded answer has cited.'
)
DOCUMENTS_NEVER_CITED_NOTE = "Documents no recorded answer has cited."
NEVER_CITED = "Show only documents never cited"
ALL_DOCUMENTS = "Show all documents"
SOURCES = "Sources"
SOURCES_NOTE = (
    "Synced sources (supportbot sources add, /kb sources): when each last synced and last "
    "succeeded, its last error, the pages it holds and what its last sync changed."
)
USAGE = "Usage by model and platform"
DOWNVOTED = "Answers that got 👎"
DOWNVOTED_NOTE = (
    "Open gaps from 👎 votes, with the answer given and its sources; answer them under Gaps."
)
USAGE_NOTE = (
    "The last 30 days: answers, tokens and estimated cost per chat model, and answers per chat "
    "platform (unknown: recorded before the platform was)."
)
# Headings over the tables of pages that show more than one.
TABLE_CAPTIONS = {"usage": "By model", "platforms": "By platform"}
REDIS_DOWN = (
    "The console is unavailable: Redis (REDIS_URL), where sessions are kept, cannot be reached."
)
DATABASE_DOWN = "The console is unavailable: Postgres (DATABASE_URL) cannot be reached."
CONSOLE_UNAVAILABLE = "The console cannot make a sign-in link right now (Redis is unreachable)."


def console_link(link: str) -> str:
    """The private message with a sign-in link."""
    return (
        f"Your admin console link: {link}\n"
        "It signs you in once and expires in 10 minutes. Do not forward it."
    )
