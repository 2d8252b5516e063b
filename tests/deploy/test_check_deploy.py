"""Secure by default: with DEBUG unset and only DATABASE_URL, a real SECRET_KEY and
ALLOWED_HOSTS, Django's deploy checks find nothing; the web entry point refuses a weak key."""

import os
import secrets
import subprocess
import sys

from tests.support.scratch import ROOT, server_url

# The environment only: a developer's .env must not change the outcome.
NO_DOTENV = "import environ; environ.Env.read_env = staticmethod(lambda *a, **k: None)\n"
MANAGE = NO_DOTENV + (
    "import sys\nfrom django.core.management import execute_from_command_line\n"
    "execute_from_command_line(['manage.py', *sys.argv[1:]])\n"
)


def production_env(**extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "breezeway.settings",
        "DATABASE_URL": server_url("breezeway"),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "mirror.example.com",
        **extra,
    }


def run(code: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=production_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_finds_nothing_to_warn_about() -> None:
    proc = run(MANAGE, "check", "--deploy", "--fail-level", "WARNING")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "System check identified no issues" in proc.stdout
    assert "WARNING" not in proc.stdout + proc.stderr


def test_check_deploy_warns_when_a_protection_is_turned_off() -> None:
    # The variables do reach the settings: turning the redirect off is reported.
    proc = run(MANAGE, "check", "--deploy", "--fail-level", "WARNING", SECURE_SSL_REDIRECT="false")
    assert proc.returncode != 0
    assert "security.W008" in proc.stderr + proc.stdout


WSGI = NO_DOTENV + "import breezeway.wsgi\nprint('served')\n"


def test_the_web_entry_point_refuses_a_weak_key_without_debug() -> None:
    proc = run(WSGI, SECRET_KEY="short-but-not-empty")
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert "ImproperlyConfigured: SECRET_KEY is too weak to serve with" in last
    assert "fewer than 50 characters" in last and "secrets.token_urlsafe(50)" in last


def test_the_web_entry_point_takes_a_strong_key_or_debug() -> None:
    assert run(WSGI).stdout.strip() == "served"
    assert run(WSGI, SECRET_KEY="short", DEBUG="true").stdout.strip() == "served"


def test_serve_sh_names_its_processes() -> None:
    proc = subprocess.run(
        [str(ROOT / "scripts" / "serve.sh"), "webserver"], capture_output=True, text=True
    )
    assert proc.returncode == 64 and "usage:" in proc.stderr and "web|worker|beat" in proc.stderr
