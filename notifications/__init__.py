"""Notifications: the transactional outbox of emails and webhooks.

Apps put what they owe the outside world here, in their own transaction —
an email (``services.outbox_enqueue``), or an event for the webhook
endpoints that subscribe to it (``webhooks.webhook_emit``); this app
delivers it from the Celery workers, retries it through any outage, and
shows it to staff in the admin. It imports no app: users, orders and
inventory call it.

- ``services.py``: the email outbox; ``webhooks.py``: endpoints, events and
  their delivery; ``webhook_http.py``: the one place a webhook URL is called.
- ``domain/``: the pure rules (backoff, email failures, webhook retries,
  signatures, which addresses may be called).
"""
