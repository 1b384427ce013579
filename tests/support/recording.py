"""What this process sends to Redis, for the tests that count round trips."""

from typing import Any

Words = tuple[str, ...]


def redis_round_trips(monkeypatch: Any) -> list[list[Words]]:
    """From now until the test ends (``monkeypatch`` undoes it), every round
    trip this process makes to Redis: the commands sent together (one, or a
    pipeline's), each as its words."""
    import redis
    from redis.client import Pipeline

    trips: list[list[Words]] = []
    real_command, real_pipeline = redis.Redis.execute_command, Pipeline.execute

    def command(self: Any, *args: Any, **options: Any) -> Any:
        trips.append([tuple(str(a) for a in args)])
        return real_command(self, *args, **options)

    def pipeline(self: Any, *args: Any, **options: Any) -> Any:
        if self.command_stack:
            trips.append([tuple(str(a) for a in words) for words, _ in self.command_stack])
        return real_pipeline(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", command)
    monkeypatch.setattr(Pipeline, "execute", pipeline)
    return trips
