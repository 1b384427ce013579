"""Several subsystems' commands in one round trip (config.platform.redis_pipeline):
after a commit, inside a gathered block, every subsystem's at once; nothing
for a rollback; riders with the sender's command, or dropped; one
subsystem's failure stops no other. Needs REDIS_URL (CI sets it)."""

import os

import pytest
from django.db import transaction

from config.platform import redis_pipeline
from tests.support.recording import redis_round_trips

pytestmark = [
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (CI sets it): a pipeline to Redis"),
    pytest.mark.django_db(transaction=True),
]


def setting(key: str, answers: list):
    """A subsystem's prepare: SET ``key``, its answer kept in ``answers``."""

    def prepare(pipeline):
        pipeline.set(f"test:after-commit:{key}", 1, ex=60)
        return answers.append

    return prepare


def test_a_gathered_block_sends_every_subsystems_commands_in_one_round_trip_after_commit(monkeypatch):
    trips = redis_round_trips(monkeypatch)
    first, second = [], []
    with redis_pipeline.gathered(), transaction.atomic():
        redis_pipeline.after_commit(setting("a", first))
        redis_pipeline.after_commit(setting("b", second))
        assert trips == []  # nothing before the commit
    assert [[command[:2] for command in trip] for trip in trips] == [
        [("SET", "test:after-commit:a"), ("SET", "test:after-commit:b")]
    ]
    assert first == [[True]] and second == [[True]]


def test_outside_a_gathered_block_each_goes_alone_after_commit(monkeypatch):
    trips = redis_round_trips(monkeypatch)
    answers: list = []
    with transaction.atomic():
        redis_pipeline.after_commit(setting("a", answers))
        redis_pipeline.after_commit(setting("b", answers))
    assert len(trips) == 2 and answers == [[True], [True]]


def test_a_rollback_sends_nothing_and_a_savepoint_rolled_back_drops_only_its_own(monkeypatch):
    trips = redis_round_trips(monkeypatch)
    kept, dropped = [], []
    with pytest.raises(RuntimeError), redis_pipeline.gathered(), transaction.atomic():
        redis_pipeline.after_commit(setting("gone", dropped))
        raise RuntimeError("rolled back")
    with redis_pipeline.gathered(), transaction.atomic():
        redis_pipeline.after_commit(setting("kept", kept))
        with pytest.raises(RuntimeError), transaction.atomic():
            redis_pipeline.after_commit(setting("gone", dropped))
            raise RuntimeError("savepoint rolled back")
    assert [[command[1] for command in trip] for trip in trips] == [["test:after-commit:kept"]]
    assert kept == [[True]] and dropped == []


def test_a_block_inside_a_transaction_leaves_the_sending_to_the_outer_one(monkeypatch):
    trips = redis_round_trips(monkeypatch)
    answers: list = []
    with redis_pipeline.gathered(), transaction.atomic():
        with redis_pipeline.gathered(), transaction.atomic():
            redis_pipeline.after_commit(setting("inner", answers))
        redis_pipeline.after_commit(setting("outer", answers))
        assert trips == []
    assert len(trips) == 1 and len(trips[0]) == 2


def test_one_subsystems_failure_stops_no_other_and_redis_failing_reaches_each(monkeypatch):
    from redis.client import Pipeline

    answers: list = []

    def broken(pipeline):
        raise RuntimeError("a bug in one subsystem")

    def fails_after(pipeline):
        pipeline.set("test:after-commit:c", 1, ex=60)

        def done(got):
            raise RuntimeError("a bug in its answer's handling")

        return done

    with redis_pipeline.gathered(), transaction.atomic():
        redis_pipeline.after_commit(broken)
        redis_pipeline.after_commit(fails_after)
        redis_pipeline.after_commit(setting("d", answers))
    assert answers == [[True]]

    def refuse(*args, **kwargs):
        raise ConnectionError("simulated: Redis is unreachable")

    monkeypatch.setattr(Pipeline, "execute", refuse)
    failures: list = []
    with redis_pipeline.gathered(), transaction.atomic():
        redis_pipeline.after_commit(setting("e", failures))
        redis_pipeline.after_commit(setting("f", failures))
    assert [type(failure) for failure in failures] == [ConnectionError, ConnectionError]


def test_riders_go_with_the_senders_command_and_one_nobody_sends_is_dropped(monkeypatch):
    trips = redis_round_trips(monkeypatch)
    own, rider = [], []
    redis_pipeline.ride(setting("rider", rider))
    redis_pipeline.send([setting("own", own), *redis_pipeline.take_riders()])
    assert [[command[1] for command in trip] for trip in trips] == [
        ["test:after-commit:own", "test:after-commit:rider"]
    ]
    assert own == [[True]] and rider == [[True]]

    redis_pipeline.ride(setting("left", rider))
    assert len(redis_pipeline.take_riders()) == 1  # the request's end
    assert redis_pipeline.take_riders() == [] and len(trips) == 1
