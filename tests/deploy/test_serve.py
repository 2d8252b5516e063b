"""Production serving: scripts/serve.sh web (deploy checks, collectstatic, gunicorn) with DEBUG
off serves a styled admin from WhiteNoise's hashed, compressed files; checked in headless
Chromium. One gunicorn for the module, on the session's test database."""

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connections

from tests.support.browser import CHROMIUM, LAUNCH_ARGS
from tests.support.scratch import ROOT, server_url

# Playwright's sync API runs an event loop in this thread; the ORM calls beside it are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = ROOT / "test-artifacts" / "deploy"
USERNAME, PASSWORD = "deploy-staff", secrets.token_urlsafe(12)
LOCKED_USERNAME = "deploy-intruder"
APPLICATION_NAME = "breezeway-deploy-test"  # the server's database sessions
ADMIN_HEADER_BG = "rgb(65, 118, 144)"  # --secondary (#417690) in the admin's base.css
ADMIN_ERROR_FG = "rgb(186, 33, 33)"  # --error-fg (#ba2121)

sync_api = pytest.importorskip("playwright.sync_api")
# The test database must exist (pytest-django sets it up only for tests that use it).
pytestmark = pytest.mark.django_db


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, dict(response.headers), response.read()


@pytest.fixture(scope="module")
def staff(django_db_setup, django_db_blocker) -> Iterator[None]:
    """A superuser committed to the test database (gunicorn's connections must see it)."""
    from axes.models import AccessAttempt, AccessLog
    from django.contrib.auth import get_user_model

    with django_db_blocker.unblock():
        user = get_user_model().objects.create_superuser(USERNAME, "ops@example.com", None)
        # Hashed for the production settings (the suite's MD5 hasher is not among theirs); few
        # iterations, to keep the login fast (gunicorn re-hashes it at the first login).
        user.password = PBKDF2PasswordHasher().encode(PASSWORD, "deploysalt", iterations=1000)
        user.save(update_fields=["password"])
    yield
    with django_db_blocker.unblock():
        user.delete()
        for model in (AccessAttempt, AccessLog):
            model.objects.filter(username__in=[USERNAME, LOCKED_USERNAME]).delete()


@pytest.fixture(scope="module")
def server(staff, django_db_blocker, tmp_path_factory) -> Iterator[tuple[str, Path, Path]]:
    """scripts/serve.sh web on a free port: (base URL, STATIC_ROOT, its stdout log)."""
    static_root = tmp_path_factory.mktemp("static")
    log_dir = tmp_path_factory.mktemp("gunicorn")
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHON": sys.executable,
        # Production settings with DEBUG off, on the test database. No TLS here: no redirect to
        # https, and cookies without the Secure flag (Chromium drops those over plain http).
        "DJANGO_SETTINGS_MODULE": "breezeway.settings",
        "DATABASE_URL": server_url(settings.DATABASES["default"]["NAME"])
        + f"?application_name={APPLICATION_NAME}",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "STATIC_ROOT": str(static_root),
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "WEB_THREADS": "2",
        # Set, so that a developer's .env cannot change them.
        "DEBUG": "false",
        "DATABASE_SCHEMA": "public",
        "CELERY_BROKER_URL": "",
    }
    out, err = (log_dir / "stdout.log").open("wb"), (log_dir / "stderr.log").open("wb")
    proc = subprocess.Popen(
        [str(ROOT / "scripts" / "serve.sh"), "web"], cwd=ROOT, env=env, stdout=out, stderr=err
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"serve.sh web exited {proc.returncode}:\n{read_logs(log_dir)}")
            try:
                if get(f"{url}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not answer /healthz:\n{read_logs(log_dir)}")
            time.sleep(0.2)
        yield url, static_root, log_dir / "stdout.log"
    finally:
        # serve.sh exec'd gunicorn, so this is its master; SIGINT is its quick shutdown (SIGTERM
        # would wait for the browser's keep-alive connections).
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.close()
        err.close()
        with django_db_blocker.unblock():
            wait_for_the_server_sessions_to_end()


def wait_for_the_server_sessions_to_end(timeout: float = 10) -> None:
    """The test database is dropped at the end of the session, which fails while a backend of
    the stopped server is still exiting."""
    from django.db import connection

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                [APPLICATION_NAME],
            )
            if cur.fetchone()[0] == 0:
                return
        time.sleep(0.1)


def read_logs(log_dir: Path) -> str:
    return "\n".join(p.read_text(errors="replace")[-4000:] for p in sorted(log_dir.glob("*.log")))


@pytest.fixture(scope="module")
def browser() -> Iterator:
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium package is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield browser
        browser.close()
        # Django calls made while Playwright's event loop runs get a connection of their own
        # (asgiref sees a running loop); closed here, or the test database could not be dropped.
        connections.close_all()


@pytest.fixture
def page(browser) -> Iterator:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def submit_login(page, url: str, username: str, password: str):
    page.goto(f"{url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("input[type=submit]")


def css(page, selector: str, prop: str) -> str:
    return page.eval_on_selector(selector, f"e => getComputedStyle(e).{prop}")


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_staff_get_a_styled_admin_with_debug_off(server, page) -> None:
    url, _, _ = server
    submit_login(page, url, USERNAME, PASSWORD)
    assert page.url == f"{url}/admin/"
    assert page.locator("#site-name").inner_text().strip()
    assert USERNAME.upper() in page.locator("#user-tools").inner_text().upper()
    # Styled by the admin's stylesheet as WhiteNoise serves it, not the browser's defaults.
    assert css(page, "#header", "backgroundColor") == ADMIN_HEADER_BG
    assert css(page, "body", "fontFamily") != "Times New Roman"
    stylesheets = page.eval_on_selector_all("link[rel=stylesheet]", "ls => ls.map(l => l.href)")
    assert any(re.search(r"/static/admin/css/base\.[0-9a-f]{12}\.css$", s) for s in stylesheets)
    shot(page, "admin-index")


def test_static_files_are_hashed_compressed_and_cached_for_good(server) -> None:
    url, static_root, _ = server
    assert (static_root / "staticfiles.json").is_file()  # collectstatic ran, with the manifest
    _, _, html = get(f"{url}/admin/login/")
    href = re.search(rb'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', html)[1].decode()
    status, headers, body = get(url + href, **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert (
        "immutable" in headers["Cache-Control"] and "max-age=315360000" in headers["Cache-Control"]
    )
    assert body[:2] == b"\x1f\x8b"


def test_a_locked_out_login_says_so_on_the_admin_login_page(server, page) -> None:
    url, _, _ = server
    for _ in range(settings.AXES_FAILURE_LIMIT):
        submit_login(page, url, LOCKED_USERNAME, "not-the-password")
    message = page.locator("#lockout-message")
    assert "Too many failed login attempts" in message.inner_text()
    assert "15 minutes" in message.inner_text()
    assert css(page, "#lockout-message", "color") == ADMIN_ERROR_FG
    assert page.locator("#login-form").is_visible()
    shot(page, "login-locked-out")


def test_gunicorn_logs_each_request_to_stdout(server) -> None:
    url, _, stdout = server
    get(f"{url}/healthz")
    time.sleep(0.2)
    assert re.search(r'"GET /healthz HTTP/1\.1" 200 ', stdout.read_text())
