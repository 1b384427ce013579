from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from config.platform.metrics import SCRAPED
        from notifications.metrics import OutboxCollector, WebhookCollector

        SCRAPED.register(OutboxCollector())
        SCRAPED.register(WebhookCollector())
