"""The sample knowledge base shipped with the package (a fictional company's handbook)."""

from __future__ import annotations

from pathlib import Path

SAMPLE_DOCS = Path(__file__).resolve().parent / "sample_kb" / "docs"
SAMPLE_QUESTIONS = Path(__file__).resolve().parent / "sample_kb" / "questions.jsonl"
# Follow-up questions asked after earlier turns of a conversation, over the same documents.
SAMPLE_CONVERSATIONS = Path(__file__).resolve().parent / "sample_kb" / "conversations.jsonl"
SAMPLE_BASE_URL = "https://handbook.brightwater.example/"
