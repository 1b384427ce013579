"""A real browser against a real server: Debian's chromium, driven by
Playwright, on a gunicorn started with the production settings (DEBUG off,
collectstatic with hashed names, WhiteNoise serving /static/) over plain HTTP.

Chromium is never downloaded by Playwright (``playwright install`` cannot work
here). When /usr/bin/chromium is missing, the setup installs Debian's package
with apt-get, but only as root and only in CI or with STOCKROOM_NO_SKIPS=1;
anywhere else the journeys skip and say why.

Each test is one journey. Screenshots of every step go to
``artifacts/screenshots/<test>/``; the run ends with ``browser journeys: N
passed`` in the terminal summary.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings

from tests.conftest import ON_POSTGRES
from tests.support.services import GUNICORN, ROOT, database_url_for_children, free_port, server_process

CHROMIUM = Path("/usr/bin/chromium")
# The docs are also visited under a name that is not localhost, as in
# production (it resolves to 127.0.0.1 in this browser only): browsers and
# front-end code treat localhost apart (secure context, Swagger UI's validator).
PUBLIC_HOST = "stockroom.test"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-proxy-server",
    f"--host-resolver-rules=MAP {PUBLIC_HOST} 127.0.0.1",
]
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", PUBLIC_HOST})
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
BROWSER_TESTS = "tests/browser/"


# --- chromium: Debian's, installed with apt-get in CI ---------------------------------


def _may_install() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get("STOCKROOM_NO_SKIPS") == "1"


def chromium_or_skip_reason() -> str | None:
    """None when /usr/bin/chromium is there (installing it if allowed), else why not."""
    if CHROMIUM.exists():
        return None
    apt = shutil.which("apt-get")
    if apt is None:
        return f"no chromium at {CHROMIUM} and no apt-get to install Debian's package"
    if os.geteuid() != 0:
        return f"no chromium at {CHROMIUM}, and installing it with apt-get needs root"
    if not _may_install():
        return f"no chromium at {CHROMIUM}; run with CI=1 or STOCKROOM_NO_SKIPS=1 to install it with apt-get"
    apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for args in (["update", "-q"], ["install", "-y", "-q", "chromium"]):
        result = subprocess.run([apt, *args], env=apt_env, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            return f"apt-get {' '.join(args)} failed ({result.returncode}): {result.stderr[-2000:]}"
    return None if CHROMIUM.exists() else f"apt-get installed chromium, yet there is no {CHROMIUM}"


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright package is not installed (pip install -r requirements.txt)")
    if reason := chromium_or_skip_reason():
        pytest.skip(reason)
    # Playwright's sync API keeps an asyncio loop running on this thread, and
    # Django refuses ORM calls there (seeding, pytest-django's flush) unless
    # told otherwise. Only while the browser is open: this package's tests.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


# --- the server: gunicorn with the production settings, over plain HTTP ----------------


def production_env(**extra: str) -> dict[str, str]:
    """A fresh production process's environment: none of the test run's own
    settings (its SQLite, no manifest, no SSL redirect…) leak in."""
    dropped = ("DATABASE_", "REDIS_", "CELERY_", "SECURE_", "STATIC_", "EMAIL_", "SESSION_", "CSRF_", "DJANGO_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    for name in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "PROMETHEUS_MULTIPROC_DIR"):
        env.pop(name, None)
    return {**env, **extra}


@dataclass
class Server:
    port: int
    env: dict[str, str]
    log: Path

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def log_tail(self, chars: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


@dataclass
class Deployment:
    """What each journey's server starts from."""

    env: dict[str, str]
    sqlite_template: Path | None  # migrated and seeded; each journey gets a copy
    world: dict[str, Any] | None


def _run(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def _finish(proc: subprocess.Popen[str], what: str) -> None:
    output, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, f"{what} failed:\n{output}"


def collectstatic_as_the_image_does(env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """The ``collectstatic`` line of deploy/Dockerfile, run here: the files the
    journeys load are collected the way the image collects them."""
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    line = next((ln for ln in dockerfile.splitlines() if ln.startswith("RUN ") and "collectstatic" in ln), None)
    assert line, "deploy/Dockerfile has no `RUN … collectstatic` line"
    words = shlex.split(line.removeprefix("RUN "))
    start = words.index("manage.py")
    assignments = dict(word.split("=", 1) for word in words[:start] if "=" in word)  # DEBUG=true …
    return words[start:], {**env, **assignments}


@pytest.fixture(scope="package")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    """The deploy steps, once: collectstatic as the image runs it (with the
    manifest of hashed names that DEBUG=false serves with) and, on SQLite,
    migrate — plus the journeys' data, made through the services."""
    tmp = tmp_path_factory.mktemp("browser-deployment")
    env = production_env(
        DEBUG="false",
        SECRET_KEY=settings.SECRET_KEY,
        ALLOWED_HOSTS=",".join(sorted(LOCAL_HOSTS)),
        # plain HTTP: no redirect to HTTPS, cookies that travel over HTTP
        SECURE_SSL_REDIRECT="false",
        SESSION_COOKIE_SECURE="false",
        CSRF_COOKIE_SECURE="false",
        STATIC_ROOT=str(tmp / "static"),
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="4",
    )
    if redis_url := os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = redis_url
    collectstatic = _run(*collectstatic_as_the_image_does(env))
    template = world = None
    if not ON_POSTGRES:
        template = tmp / "template.sqlite3"
        sqlite_env = {**env, "DATABASE_URL": f"sqlite:///{template}"}
        _finish(_run(["manage.py", "migrate", "--noinput"], sqlite_env), "migrate")
        _finish(_run(["-m", "tests.browser.seeding", "journey", str(tmp / "world.json")], sqlite_env), "seeding")
        world = json.loads((tmp / "world.json").read_text())
    _finish(collectstatic, "collectstatic")
    return Deployment(env=env, sqlite_template=template, world=world)


@pytest.fixture
def server(deployment: Deployment, tmp_path: Path, transactional_db: None) -> Iterator[Server]:
    """A gunicorn of its own for each journey. On PostgreSQL it serves the
    test database, which pytest-django empties after each test: a server that
    outlived a test would go on with rows it caches for good (content types)."""
    if deployment.sqlite_template is None:
        database_url = database_url_for_children()
    else:
        database = tmp_path / "stockroom.sqlite3"
        shutil.copyfile(deployment.sqlite_template, database)
        database_url = f"sqlite:///{database}"
    port = free_port()
    (tmp_path / "prom").mkdir()
    env = {
        **deployment.env,
        "DATABASE_URL": database_url,
        "BIND": f"127.0.0.1:{port}",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"),
    }
    srv = Server(port=port, env=env, log=tmp_path / "gunicorn.log")
    with server_process(GUNICORN, env=env, base=srv.url(""), log_path=srv.log):
        yield srv


# --- the data each journey works on ----------------------------------------------------


@pytest.fixture
def world(request: pytest.FixtureRequest, deployment: Deployment, server: Server) -> dict[str, Any]:
    """Staff, a customer, products and an order, made through the services in
    the database the server uses: on SQLite, in the file each journey copies."""
    if deployment.world is not None:
        return deployment.world
    from tests.browser.seeding import seed

    return seed(re.sub(r"[^a-z0-9]", "", request.node.name.lower())[-16:])


# --- one journey: a page, its screenshots, and what went wrong on the way ---------------


def is_local(url: str) -> bool:
    return url.startswith(("data:", "blob:", "about:")) or urlsplit(url).hostname in LOCAL_HOSTS


@dataclass
class Journey:
    page: Any
    server: Server
    folder: Path
    requests: list[Any] = field(default_factory=list)  # every request of every page, in order
    problems: list[str] = field(default_factory=list)
    steps: int = 0

    def shot(self, name: str, *, full_page: bool = True) -> Path:
        """A screenshot, numbered in the order of the steps."""
        self.steps += 1
        path = self.folder / f"{self.steps:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def goto(self, path: str, host: str = "127.0.0.1") -> Any:
        response = self.page.goto(self.server.url(path, host))
        assert response is not None and response.status < 500, f"{path}: server error\n{self.server.log_tail()}"
        return response

    def urls(self) -> list[str]:
        return [r.url for r in self.requests]

    def outside_requests(self) -> list[str]:
        """Every request the pages made to anything but this machine, images
        included: one that a Content-Security-Policy stopped counts too (the
        page asked for it: with another policy, or none, it would have left)."""
        return [r.url for r in self.requests if not is_local(r.url)]


_COOP_OVER_HTTP = "The Cross-Origin-Opener-Policy header has been ignored, because the URL's origin was untrustworthy"
# "Loading the image '…' violates …" (older Chromium: "Refused to load … because it violates …")
_CSP_VIOLATION = re.compile(r"'(https?://[^']+)' (?:because it )?violates the following Content Security Policy")


def _watch(journey: Journey, context: Any) -> None:
    def on_request_failed(request: Any) -> None:
        if request.failure == "net::ERR_ABORTED" and not request.is_navigation_request():
            return  # an image still loading when the page moved on: the browser dropped it
        journey.problems.append(f"failed: {request.method} {request.url} ({request.failure})")

    def on_response(response: Any) -> None:
        if response.status >= 400 and urlsplit(response.url).path != "/favicon.ico":
            journey.problems.append(f"{response.status} {response.request.method} {response.url}")

    def on_console(message: Any) -> None:
        if message.type != "error" or (message.location or {}).get("url", "").endswith("/favicon.ico"):
            return
        if blocked := _CSP_VIOLATION.search(message.text):
            journey.problems.append(f"blocked by the Content-Security-Policy: {blocked.group(1)}")
            return
        if message.text.startswith(_COOP_OVER_HTTP):
            return  # plain HTTP under a name other than localhost: production serves HTTPS
        journey.problems.append(f"console error: {message.text}")

    context.on("request", lambda r: journey.requests.append(r))
    context.on("requestfailed", on_request_failed)
    context.on("response", on_response)
    context.on("weberror", lambda e: journey.problems.append(f"page error: {e.error}"))
    context.on("console", on_console)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def journey(request: pytest.FixtureRequest, browser: Any, server: Server) -> Iterator[Journey]:
    folder = SCREENSHOTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    current = Journey(page=page, server=server, folder=folder)
    _watch(current, context)
    try:
        yield current
        call = getattr(request.node, "report_call", None)
        if call is not None and call.failed:
            current.shot("failure")
        else:
            assert not current.problems, "the browser met errors:\n" + "\n".join(current.problems)
            assert not current.outside_requests(), "requests left this machine:\n" + "\n".join(
                current.outside_requests()
            )
    finally:
        context.close()
        if any(p.startswith("5") for p in current.problems):
            print("server log:\n" + server.log_tail())


# --- browser journeys: N passed, in the CI log ---------------------------------------------


_outcomes: dict[str, str] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not report.nodeid.startswith(BROWSER_TESTS):
        return
    if report.failed:
        _outcomes[report.nodeid] = "failed"
    elif report.skipped:
        _outcomes.setdefault(report.nodeid, "skipped")
    elif report.when == "call":
        _outcomes.setdefault(report.nodeid, "passed")


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not _outcomes:
        return
    counts = {outcome: list(_outcomes.values()).count(outcome) for outcome in ("passed", "failed", "skipped")}
    line = f"browser journeys: {counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped"
    terminalreporter.write_sep("-", "browser")
    terminalreporter.write_line(line, green=not counts["failed"] and not counts["skipped"], red=bool(counts["failed"]))
    terminalreporter.write_line(f"screenshots: {SCREENSHOTS.relative_to(ROOT)}/")
