from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "users"
    verbose_name = "Users"

    def ready(self) -> None:
        from config.platform.metrics import SCRAPED
        from users.metrics import OutboxCollector

        SCRAPED.register(OutboxCollector())  # type: ignore[arg-type]
