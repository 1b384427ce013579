"""What this process sends to Redis, for the tests that count round trips."""

from typing import Any


def redis_commands(monkeypatch: Any) -> list[tuple[str, ...]]:
    """From now until the test ends (``monkeypatch`` undoes it), every
    command this process sends to Redis, each as its words."""
    import redis

    sent: list[tuple[str, ...]] = []
    real = redis.Redis.execute_command

    def recording(self: Any, *args: Any, **options: Any) -> Any:
        sent.append(tuple(str(a) for a in args))
        return real(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", recording)
    return sent
