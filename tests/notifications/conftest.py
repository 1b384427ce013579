from tests.support.webhooks import webhook_receiver  # noqa: F401  (a fixture)
