"""Production settings: secure cookies, HSTS, HTTPS redirect, and `check --deploy` clean."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DATABASE_URL": "postgres://xm@db.invalid:5432/xm",
    "REDIS_URL": "redis://cache.invalid:6379/0",
    "SECRET_KEY": "a-production-like-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
}
PRINT_SETTINGS = """
import json
from django.conf import settings
names = ["DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT",
         "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SESSION_COOKIE_HTTPONLY",
         "X_FRAME_OPTIONS", "RATE_LIMIT_ENABLED"]
print(json.dumps({name: getattr(settings, name) for name in names}))
print(json.dumps(settings.CACHES["default"]["BACKEND"]))
"""


OVERRIDES = (
    "DATABASE_URL",
    "REDIS_URL",
    "DEBUG",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    # Set in this test process by the browser fixture (Playwright runs an event loop); a
    # deployment never has it, and `check --deploy` rightly refuses it.
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`python *args` with the settings environment replaced by `env`."""
    clean = {k: v for k, v in os.environ.items() if k not in OVERRIDES}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "xmplatform.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.startup
def test_production_defaults_are_secure() -> None:
    done = run("-c", "import django; django.setup()\n" + PRINT_SETTINGS, env=PRODUCTION)

    assert done.returncode == 0, done.stderr
    values, cache = (json.loads(line) for line in done.stdout.splitlines())
    assert values == {
        "DEBUG": False,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "X_FRAME_OPTIONS": "DENY",
        "RATE_LIMIT_ENABLED": True,
    }
    assert cache == "django.core.cache.backends.redis.RedisCache"


@pytest.mark.startup
def test_check_deploy_is_clean_in_production() -> None:
    done = run(
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={
            "DEBUG": "0",
            "SECRET_KEY": PRODUCTION["SECRET_KEY"],
            # A deployment sends from its own domain (surveys.W001 warns about localhost).
            "DEFAULT_FROM_EMAIL": "Surveys <surveys@example.com>",
        },
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


@pytest.mark.startup
def test_a_bad_rate_limit_stops_the_start_with_a_message() -> None:
    done = run(
        "-c",
        "import django; django.setup()",
        env={**PRODUCTION, "HOSTED_RATE_LIMIT_PER_IP": "lots"},
    )

    assert done.returncode != 0
    assert "HOSTED_RATE_LIMIT_PER_IP='lots' is not a rate" in done.stderr


def test_hsts_header_is_sent_on_https(client, settings, db) -> None:  # noqa: ANN001
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = False

    page = client.get("/healthz", secure=True)

    assert page.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
