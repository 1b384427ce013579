"""Stockroom under gevent (deploy/gunicorn.conf.py's worker class).

gunicorn's gevent worker patches the standard library before it loads the
application: each client connection is then served by a greenlet, a
"thread" is a greenlet, and ``threading.local`` holds one value per
greenlet. What belongs to one request (Django's connections, the read
cache's pending writes) rightly stays in ``threading.local``. What a process
keeps for all its requests (compiled queries, a broker producer) must not be
rebuilt for every client connection: it subclasses :func:`os_thread_local`,
which is per OS thread whether gevent is there or not.
"""

import sys
import threading
from typing import Any


def is_green() -> bool:
    """Whether gevent has patched ``threading`` in this process."""
    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey is not None and monkey.is_module_patched("threading"))


def os_thread_local() -> Any:
    """The class of thread-local storage per OS thread: ``threading.local``
    as it was before gevent patched it (a greenlet switch inside a method
    using it is then seen by the other greenlets of the thread)."""
    if is_green():
        from gevent import monkey

        return monkey.get_original("threading", "local")
    return threading.local
