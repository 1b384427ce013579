"""DEBUG=true without SECRET_KEY signs with a key of this checkout's own:
random, made once into a git-ignored file readable by its owner only, the
same for every process of the checkout. Without DEBUG, a missing SECRET_KEY
is still refused, and the image's build step makes no key.

The processes run in a checkout of their own (config/ and manage.py copied,
the rest linked), so a test never touches the developer's own key."""

import os
import shlex
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from config.platform.secret_key import development_secret_key
from tests.support.services import ROOT

# What config/settings.py used before: a key anyone who read the repository knew.
PUBLIC_KEY = "django-insecure-stockroom-development-key-never-use-in-production"
PRINT_KEY = "from django.conf import settings; print('KEY', settings.SECRET_KEY)"


def checkout_of_its_own(folder: Path) -> Path:
    """A checkout whose BASE_DIR is ``folder``: config/ (whose settings put the
    key beside it) and manage.py copied, everything else linked; the
    developer's .secret_key, .env and databases left out."""
    folder.mkdir(parents=True)
    shutil.copytree(ROOT / "config", folder / "config", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "manage.py", folder / "manage.py")
    for entry in ROOT.iterdir():
        if entry.name in {"config", "manage.py", ".env", ".git"} or entry.name.startswith(
            (".secret_key", "db.sqlite3")
        ):
            continue
        (folder / entry.name).symlink_to(entry)
    return folder


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_", "CELERY_", "STATIC_"))}
    for name in ("SECRET_KEY", "DEBUG"):
        env.pop(name, None)
    return {**env, **extra}


def start(checkout: Path, *args: str, **env: str) -> "subprocess.Popen[str]":
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=checkout,
        env=child_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def key_printed(proc: "subprocess.Popen[str]") -> str:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, out + err
    return next(line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("KEY "))


def test_debug_without_a_secret_key_uses_one_random_key_per_checkout_that_its_processes_share(tmp_path):
    checkout = checkout_of_its_own(tmp_path / "a")

    together = [start(checkout, "shell", "-c", PRINT_KEY, DEBUG="true") for _ in range(3)]
    keys = {key_printed(proc) for proc in together}

    assert len(keys) == 1, keys
    key = keys.pop()
    assert key != PUBLIC_KEY and "insecure" not in key
    assert len(key) >= 50 and len(set(key)) >= 20, key
    key_file = checkout / ".secret_key"
    assert key_file.read_text().strip() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert sorted(p.name for p in checkout.iterdir() if p.name.startswith(".secret_key")) == [".secret_key"]
    # A later start reads it again; another checkout makes its own.
    assert key_printed(start(checkout, "shell", "-c", PRINT_KEY, DEBUG="true")) == key
    other = checkout_of_its_own(tmp_path / "b")
    assert key_printed(start(other, "shell", "-c", PRINT_KEY, DEBUG="true")) != key


def test_without_debug_a_missing_secret_key_is_refused_and_no_key_is_made(tmp_path):
    checkout = checkout_of_its_own(tmp_path / "checkout")

    proc = start(checkout, "check", DEBUG="false")
    _, err = proc.communicate(timeout=120)

    assert proc.returncode != 0
    assert "SECRET_KEY is not set" in err
    assert not (checkout / ".secret_key").exists()


@pytest.mark.skipif(not (ROOT / ".git").exists() or not shutil.which("git"), reason="needs a git checkout and git")
def test_the_key_file_and_its_drafts_are_ignored_by_git():
    for name in (".secret_key", ".secret_key.4242-0a1b2c3d"):
        ignored = subprocess.run(["git", "check-ignore", "-q", name], cwd=ROOT)
        assert ignored.returncode == 0, f"{name} is not git-ignored"


def test_processes_racing_to_make_the_key_all_read_the_one_made(tmp_path) -> None:
    """Threads stand in for processes starting at the same instant: the file
    appears whole, once, and every caller reads that key."""

    def make(path: Path, barrier: threading.Barrier, keys: list[str]) -> None:
        barrier.wait()
        keys.append(development_secret_key(path))

    for attempt in range(20):
        path = tmp_path / f"key-{attempt}"
        barrier = threading.Barrier(8)
        keys: list[str] = []
        threads = [threading.Thread(target=make, args=(path, barrier, keys)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert len(keys) == 8 and set(keys) == {path.read_text().strip()}, (attempt, set(keys))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"key-{n}" for n in range(20))  # no drafts left


def test_the_image_build_makes_no_development_key_and_leaves_the_local_one_out(tmp_path):
    """deploy/Dockerfile's collectstatic step, run with its own variables in a
    fresh checkout, leaves no .secret_key for the image to carry; and the
    build context (.dockerignore) leaves out the one a developer has."""
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    line = next(ln for ln in dockerfile.splitlines() if ln.startswith("RUN ") and "collectstatic" in ln)
    words = shlex.split(line.removeprefix("RUN "))
    start_at = next(n for n, word in enumerate(words) if word.endswith("python"))
    assignments = dict(word.split("=", 1) for word in words[:start_at])
    checkout = checkout_of_its_own(tmp_path / "checkout")

    build = start(checkout, *words[start_at + 2 :], "--dry-run", STATIC_ROOT=str(tmp_path / "static"), **assignments)
    out, err = build.communicate(timeout=180)

    assert build.returncode == 0, out + err
    assert not (checkout / ".secret_key").exists(), "the image's build step made a development key"
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert "/.secret_key*" in ignored and ".env" in ignored
