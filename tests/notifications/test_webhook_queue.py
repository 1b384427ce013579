"""Webhook deliveries run on a queue of their own, and a worker started as
the contract names it (`celery -A config worker`, no -Q) consumes it too
(tests/faults/test_webhooks.py runs one that delivers them)."""

from django.conf import settings

from config.celery import app


def test_deliveries_go_to_the_webhook_queue_and_everything_else_to_the_default_one():
    route = app.amqp.router.route
    assert route({}, "notifications.tasks.webhook_deliver_task")["queue"].name == settings.CELERY_WEBHOOK_QUEUE
    for task in ("notifications.tasks.outbox_deliver_task", "notifications.tasks.webhooks_dispatch_task"):
        assert route({}, task)["queue"].name == settings.CELERY_TASK_DEFAULT_QUEUE


def test_a_worker_without_q_consumes_the_default_and_the_webhook_queue_each_on_its_own_exchange():
    declared = {queue.name: queue for queue in app.conf.task_queues}  # what a worker without -Q consumes
    assert set(declared) == {settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_WEBHOOK_QUEUE}
    for name, queue in declared.items():
        assert (queue.exchange.name, queue.routing_key) == (name, name)  # nothing meant for one lands in the other


def test_the_webhook_queue_is_named_after_the_default_queue(settings):
    assert f"{settings.CELERY_TASK_DEFAULT_QUEUE}-webhooks" == settings.CELERY_WEBHOOK_QUEUE
