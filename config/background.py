"""Queue Celery tasks after the current transaction commits, passing ids only.

A broker that is down or hung never fails the request: the publish is bounded
by the broker timeouts in settings and a failure is logged.
"""

import logging
from typing import Any

from celery import Task
from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(task: Task, *args: Any) -> None:
    def publish() -> None:
        try:
            task.apply_async(args=args, retry=False)
        except Exception:  # the broker is unreachable: never break the request
            logger.exception("could not publish task %s%r", task.name, args)

    transaction.on_commit(publish)
