"""Stockroom under gevent (gunicorn.conf.py's worker class), in a
process gevent has patched as gunicorn's gevent worker does: what a process
keeps for all its requests is shared by the greenlets of a thread, what
belongs to a request is not, and the database settings take connections
from a pool."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import requires_postgres
from tests.support.services import ROOT, database_url_for_children

requires_redis = pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (CI sets it)")


def run_patched(code: str, **env: str) -> dict:
    """Run ``code`` (which prints one JSON line) after gevent's patch_all."""
    script = "from gevent import monkey; monkey.patch_all()\n" + code
    environment = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "true",
        "SECRET_KEY": os.environ["SECRET_KEY"],  # the test run's: no development key made in the checkout
        **env,
    }
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_worker_local_is_shared_by_greenlets_and_a_thread_local_is_not():
    seen = run_patched(
        "import json, threading, gevent\n"
        "from config.db.green import is_green, os_thread_local\n"
        "shared, own = os_thread_local()(), threading.local()\n"
        "def visit(n):\n"
        "    shared.__dict__.setdefault('visits', []).append(n)\n"
        "    own.__dict__.setdefault('visits', []).append(n)\n"
        "    gevent.sleep(0)\n"
        "    return len(own.visits)\n"
        "own_counts = [g.get() for g in [gevent.spawn(visit, n) for n in range(3)]]\n"
        "print(json.dumps({'green': is_green(), 'shared': shared.visits, 'own': own_counts}))\n"
    )
    assert seen == {"green": True, "shared": [0, 1, 2], "own": [1, 1, 1]}


def test_it_is_not_green_without_gevent():
    from config.db.green import is_green, os_thread_local

    assert not is_green()
    import threading

    assert os_thread_local() is threading.local


def test_under_gevent_postgresql_connections_come_from_a_pool():
    settings = run_patched(
        "import json, django; django.setup()\n"
        "from django.conf import settings as s\n"
        "db = s.DATABASES['default']\n"
        "print(json.dumps({'green': s.GREEN, 'pool': db['OPTIONS'].get('pool'), 'age': db['CONN_MAX_AGE']}))\n",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/stockroom",
    )
    pool = {"min_size": 2, "max_size": 10, "timeout": 3, "reconnect_timeout": 5}  # tests/faults/test_database.py
    assert settings == {"green": True, "pool": pool, "age": 0}


def test_under_gevent_sqlite_connections_close_after_each_request():
    settings = run_patched(
        "import json, django; django.setup()\n"
        "from django.conf import settings as s\n"
        "print(json.dumps({'age': s.DATABASES['default']['CONN_MAX_AGE']}))\n"
    )
    assert settings == {"age": 0}  # a greenlet per client connection would otherwise keep one open each


def test_compiled_queries_and_the_broker_producer_are_per_os_thread_under_gevent():
    kept = run_patched(
        "import json, django; django.setup()\n"
        "import threading\n"
        "from config.db import prepared\n"
        "from config.platform import background\n"
        "from config.db.green import os_thread_local\n"
        "print(json.dumps({\n"
        "    'prepared': type(prepared.Prepared(lambda id: None)._local) is os_thread_local(),\n"
        "    'producers': isinstance(background._producers, os_thread_local()),\n"
        "    'patched_local': threading.local is not os_thread_local(),\n"
        "}))\n"
    )
    assert kept == {"prepared": True, "producers": True, "patched_local": True}


@requires_postgres
@pytest.mark.django_db
def test_under_gevent_a_query_waits_in_gevent_loop_and_lets_the_other_greenlets_run():
    seen = run_patched(
        "import json, time, gevent, django; django.setup()\n"
        "import psycopg.waiting\n"
        "from django.db import connection\n"
        "from config.db.green import psycopg_wait\n"
        "def nap(n):\n"
        "    with connection.cursor() as c:  # a connection of the greenlet's own\n"
        "        c.execute('SELECT pg_sleep(0.4), %s', [n])\n"
        "        return c.fetchone()[1]\n"
        "started = time.monotonic()\n"
        "got = [g.get() for g in [gevent.spawn(nap, n) for n in range(4)]]\n"
        "elapsed = time.monotonic() - started\n"
        "with connection.cursor() as c:  # more than the socket takes at once: waits to read or write\n"
        "    c.execute('SELECT length(%s)', ['x' * 20_000_000])\n"
        "    length = c.fetchone()[0]\n"
        "print(json.dumps({'ours': psycopg.waiting.wait is psycopg_wait, 'got': got,\n"
        "                  'together': elapsed < 1.0, 'length': length}))\n",
        DATABASE_URL=database_url_for_children(),
        DATABASE_POOL="false",
    )
    # Four 0.4 s queries in less than 1 s: each waited in the loop, not in the process.
    assert seen == {"ours": True, "got": [0, 1, 2, 3], "together": True, "length": 20_000_000}


@requires_postgres
@pytest.mark.django_db
def test_under_gevent_a_query_whose_connection_is_closed_under_it_ends_with_psycopg_error():
    seen = run_patched(
        "import json, time, gevent, psycopg, django; django.setup()\n"
        "import config.db.postgresql.base  # installs the wait\n"
        f"conn = psycopg.connect({database_url_for_children()!r}, autocommit=True)\n"
        "def sleeper():\n"
        "    try:\n"
        "        conn.execute('SELECT pg_sleep(2)')\n"
        "        return 'finished'\n"
        "    except psycopg.OperationalError as exc:\n"
        "        return str(exc)\n"
        "started = time.monotonic()\n"
        "waiting = gevent.spawn(sleeper)\n"
        "gevent.sleep(0.2)\n"
        "conn.close()\n"
        "print(json.dumps({'outcome': waiting.get(timeout=5), 'soon': time.monotonic() - started < 1.0}))\n"
    )
    assert seen == {"outcome": "connection socket closed", "soon": True}


def test_under_gevent_a_wait_for_read_or_write_says_which_the_socket_is_ready_for():
    seen = run_patched(
        "import json, socket\n"
        "from psycopg.waiting import Wait\n"
        "from config.db.green import psycopg_wait\n"
        "ours, theirs = socket.socketpair()\n"
        "def told(wanted):\n"
        "    got = []\n"
        "    def generator():\n"
        "        got.append(int((yield wanted)))\n"
        "    psycopg_wait(generator(), ours.fileno(), 0.1)\n"
        "    return got[0]\n"
        "quiet = told(Wait.RW)\n"
        "theirs.send(b'x')\n"
        "print(json.dumps({'quiet': quiet, 'sent_to': told(Wait.RW), 'read': told(Wait.R)}))\n"
    )
    assert seen == {"quiet": 2, "sent_to": 3, "read": 1}  # psycopg's Ready.W, Ready.RW, Ready.R


@requires_redis
def test_under_gevent_the_redis_pool_check_yields_to_the_loop_and_sees_pending_data_and_a_closed_connection():
    # redis-py's pool asks a connection whether it has anything to read
    # before handing it out; RedisParser answers "nothing" itself, after
    # letting the loop run what is ready (here: a greenlet spawned before).
    seen = run_patched(
        "import json, time, gevent, django; django.setup()\n"
        "import redis\n"
        "from django.conf import settings as s\n"
        "from django_redis import get_redis_connection\n"
        "from config.db.green import RedisParser\n"
        "pool = get_redis_connection('default').connection_pool\n"
        "conn = pool.connection_class(**pool.connection_kwargs)\n"
        "conn.connect()\n"
        "ran = []\n"
        "gevent.spawn(ran.append, 'other greenlet')\n"
        "idle = conn.can_read()\n"
        "yielded = ran == ['other greenlet']\n"
        "conn.send_command('CLIENT', 'ID'); time.sleep(0.2)\n"
        "answered = conn.can_read()\n"
        "own_id = conn.read_response()\n"
        "read = conn.can_read()\n"
        "redis.Redis.from_url(s.REDIS_URL).execute_command('CLIENT', 'KILL', 'ID', own_id); time.sleep(0.2)\n"
        "try:\n"
        "    closed = conn.can_read()\n"
        "except redis.ConnectionError:\n"
        "    closed = 'ConnectionError'\n"
        "print(json.dumps({'parser': pool.connection_kwargs['parser_class'] is RedisParser, 'yielded': yielded,\n"
        "                  'idle': idle, 'answered': answered, 'read': read, 'closed': closed}))\n",
        REDIS_URL=os.environ["REDIS_URL"],
    )
    assert seen == {
        "parser": True, "yielded": True, "idle": False, "answered": True, "read": False, "closed": "ConnectionError"
    }  # fmt: skip
