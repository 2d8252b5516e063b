"""The alert settings read from the environment (ADMINS, EMAIL_URL, thresholds), each case in
a subprocess with a controlled environment."""

import json
import os
import subprocess
import sys

from tests.support.scratch import ROOT

PROBE = """
import json

import environ

environ.Env.read_env = staticmethod(lambda *args, **kwargs: None)  # the environment only

from django.conf import settings

print(json.dumps({
    k: getattr(settings, k)
    for k in dir(settings)
    if k.startswith(("ALERT_", "EMAIL_")) or k in ("ADMINS", "SERVER_EMAIL", "DEFAULT_FROM_EMAIL")
}))
"""


def run(**env: str) -> subprocess.CompletedProcess:
    full_env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "breezeway.settings",
        "DEBUG": "true",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=full_env, capture_output=True, text=True
    )


def test_defaults_and_a_full_configuration() -> None:
    defaults = run()
    assert defaults.returncode == 0, defaults.stderr
    got = json.loads(defaults.stdout)
    assert got["ADMINS"] == [] and got["ALERT_WEBHOOK_URL"] == ""
    assert got["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert got["EMAIL_SUBJECT_PREFIX"] == "[Breezeway] "
    assert got["ALERT_SYNC_MAX_AGE_HOURS"] == {"reservations": 3, "tasks": 3, "default": 26}
    assert (got["ALERT_FAILURES_IN_A_ROW"], got["ALERT_PARTIAL_IS_FAILURE"]) == (3, True)
    assert (got["ALERT_REJECTED_PER_RUN"], got["ALERT_ROW_DROP_FRACTION"]) == (100, 0.5)

    proc = run(
        ADMINS='Jane Doe <jane@example.com>, "Ops, night" <night@example.com>,bob@example.com',
        EMAIL_URL="smtp+tls://alerts%40example.com:pa%40ss@mail.example.com:587",
        SERVER_EMAIL="mirror@example.com",
        ALERT_WEBHOOK_URL="https://hooks.example.com/T000/B000/XXXX",
        ALERT_SYNC_MAX_AGE_HOURS="12",
        ALERT_PARTIAL_IS_FAILURE="false",
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got["ADMINS"] == [
        ["Jane Doe", "jane@example.com"],
        ["Ops, night", "night@example.com"],
        ["", "bob@example.com"],
    ]
    assert got["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (got["EMAIL_HOST"], got["EMAIL_PORT"], got["EMAIL_USE_TLS"]) == (
        "mail.example.com",
        587,
        True,
    )
    assert (got["EMAIL_HOST_USER"], got["EMAIL_HOST_PASSWORD"]) == ("alerts@example.com", "pa@ss")
    assert got["SERVER_EMAIL"] == got["DEFAULT_FROM_EMAIL"] == "mirror@example.com"
    assert got["ALERT_SYNC_MAX_AGE_HOURS"] == {"default": 12}
    assert got["ALERT_PARTIAL_IS_FAILURE"] is False


def test_bad_values_are_refused_naming_the_variable() -> None:
    for env, expected in [
        ({"ADMINS": "Doe, Jane <jane@example.com>"}, "ADMINS: Doe is not an e-mail address"),
        ({"ALERT_SYNC_MAX_AGE_HOURS": "tasks=three"}, "ALERT_SYNC_MAX_AGE_HOURS="),
        ({"ALERT_ROW_DROP_FRACTION": "50"}, "ALERT_ROW_DROP_FRACTION must be above 0"),
        ({"ALERT_WEBHOOK_URL": "hooks.example.com/T0KEN"}, "ALERT_WEBHOOK_URL is not an http"),
    ]:
        proc = run(**env)
        assert proc.returncode != 0
        last = proc.stderr.strip().splitlines()[-1]
        assert expected in last, last
        assert "T0KEN" not in proc.stderr  # a webhook URL is never echoed
