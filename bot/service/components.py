"""What the composition root hands the server and the chat adapters."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio

from bot.core.answering import AnswerService
from bot.core.knowledge_base import KnowledgeBase
from bot.loop.curation import Curator
from bot.loop.reviews import ReviewReminders
from bot.platforms.delivery import PlatformReporter
from bot.platforms.people import People
from bot.service.change_watch import ChangeWatch
from bot.service.jobs import IngestionJobs
from bot.service.lifecycle import WorkInProgress
from bot.service.metrics import Metrics
from bot.service.questions import RedisQuestionLedger
from bot.service.source_jobs import SourceJobs
from bot.service.upload_jobs import UploadJobs
from knowledge.sources.manager import SourceManager


@dataclass(frozen=True)
class Core:
    """The answering core and what the chat adapters share with it."""

    answers: AnswerService
    kb: KnowledgeBase
    redis: redis.asyncio.Redis
    metrics: Metrics
    jobs: IngestionJobs
    work: WorkInProgress
    reporters: PlatformReporter
    curator: Curator
    # Announces changed documents in the background of `supportbot serve`.
    changes: ChangeWatch
    # Who owners and admins are on the chat platforms; the adapters register them.
    people: People
    reviews: ReviewReminders
    # Questions accepted and not yet answered, taken over when their replica dies.
    questions: RedisQuestionLedger
    # The key of the hashes stored instead of chat user ids (bot/service/user_key.py).
    user_hash_key: bytes
    sources: SourceManager
    source_jobs: SourceJobs
    # Files sent to the bot, stored until a job on the queue ingests them.
    uploads: UploadJobs
