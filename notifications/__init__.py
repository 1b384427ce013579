"""Notifications: the transactional outbox of emails (and, next, webhooks).

Apps put what they owe the outside world here, in their own transaction
(``services.outbox_enqueue``); this app delivers it from the Celery workers,
retries it through any outage, and shows it to staff in the admin. It
imports no app: users and orders call it.
"""
