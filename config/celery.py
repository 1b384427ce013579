"""The Celery app: ``celery -A config worker`` and ``celery -A config beat``."""

import os
from typing import Any

from celery import Celery
from celery.app.defaults import DEFAULTS

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("stockroom")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# The tasks that run on the webhook queue (settings.CELERY_WEBHOOK_QUEUE).
WEBHOOK_TASKS = frozenset({"notifications.tasks.webhook_deliver_task"})


def route_task(name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **kw: Any) -> dict[str, str] | None:
    """Celery's router (``task_routes``): webhook deliveries to their own
    queue, everything else to the default one. The queue's name is read
    from the settings at each publish, not once at start."""
    from django.conf import settings

    return {"queue": settings.CELERY_WEBHOOK_QUEUE} if name in WEBHOOK_TASKS else None


@app.on_after_configure.connect
def _resolve_settings(sender: Celery, source: Any, **kwargs: Any) -> None:
    """Resolve every setting once. Celery otherwise looks each one up through
    Django's settings, under two names, on every use: seven lookups and a
    third of the CPU of publishing a task. Later changes (``app.conf.x = y``)
    still take effect."""
    source.update({key: source[key] for key in DEFAULTS})
