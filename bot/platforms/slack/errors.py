"""Slack Web API failures, logged with a reference people can quote."""

from __future__ import annotations

import logging
import uuid

from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)


def log_slack_error(doing: str, error: SlackApiError) -> str:
    """Log a Web API failure with a reference people can quote; returns the reference."""
    reference = uuid.uuid4().hex[:12]
    code = error.response.get("error") if error.response is not None else None
    log.warning("Slack error %s while %s: %s", reference, doing, code or error)
    return reference
