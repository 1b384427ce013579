"""The development SECRET_KEY: random, made once per checkout, never in git.

With ``DEBUG=true`` and no ``SECRET_KEY``, Stockroom signs its tokens and
sessions with a key of this checkout's own, kept in a file in the project
folder (``.secret_key``, git-ignored, readable by its owner only). A key
written in the repository would be everyone's: anyone could sign a token that
a development server, or a server started with DEBUG by mistake, accepts.
"""

import contextlib
import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

# secrets.token_urlsafe(50): 67 characters, as long as Django's own
# get_random_secret_key() and past check --deploy's minimum.
KEY_BYTES = 50
_SHORTEST = 50


def development_secret_key(path: Path) -> str:
    """The key in ``path``, made there first if there is none.

    Processes starting together agree on one key: each writes a key to a draft
    file of its own and links it into place, which fails if another process
    linked first; so the file appears whole or not at all, whoever comes
    second reads the first one's key, and nothing is ever overwritten."""
    if not path.exists():
        _make(path)
    key = path.read_text().strip()
    if len(key) < _SHORTEST:
        raise ImproperlyConfigured(
            f"The development key in {path} is empty or damaged: delete the file and the next start makes "
            "a new one, or set SECRET_KEY."
        )
    return key


def _make(path: Path) -> None:
    draft = path.with_name(f"{path.name}.{os.getpid()}-{secrets.token_hex(4)}")
    try:
        # 0600 at creation: never readable by others, even for an instant.
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(KEY_BYTES) + "\n")
        with contextlib.suppress(FileExistsError):  # another process was first: its key is the key
            os.link(draft, path)
    except OSError as exc:
        raise ImproperlyConfigured(
            f"Could not write a development key to {path} ({exc}). Set SECRET_KEY to a long random value."
        ) from exc
    finally:
        draft.unlink(missing_ok=True)
