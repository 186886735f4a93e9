"""Settings come from the environment, with a working embedded default."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.startup


PROD_OVERRIDES = {
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_URL",
    "DEBUG",
    "SECRET_KEY",
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "ALLOWED_HOSTS",
    "SITE_URL",
    # Set in this test process by the browser fixture (Playwright runs an event loop); a
    # deployment never has it, and `check --deploy` rightly refuses it.
    "DJANGO_ALLOW_ASYNC_UNSAFE",
}


def _settings(env: dict[str, str], expr: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in PROD_OVERRIDES}
    code = f"import django; django.setup(); from django.conf import settings as s; print({expr})"
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "DJANGO_SETTINGS_MODULE": "xmplatform.settings", **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_nothing_set_runs_embedded() -> None:
    out = _settings(
        {},
        "s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.EMAIL_BACKEND, s.DEBUG",
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [
        "django.db.backends.sqlite3",
        "True",
        "django.core.mail.backends.console.EmailBackend",
        "True",
    ]


def test_urls_switch_to_postgres_redis_and_smtp() -> None:
    out = _settings(
        {
            "DATABASE_URL": "postgres://u:p@db.example:5433/xm",
            "REDIS_URL": "redis://cache.example:6379/2",
            "EMAIL_URL": "smtp://mail.example:2525",
            "SECRET_KEY": "k" * 60,
            "SITE_URL": "https://xm.example.com/",
            "ALLOWED_HOSTS": "xm.example.com,api.example.com",
        },
        "s.DATABASES['default']['ENGINE'], s.DATABASES['default']['NAME'], s.CELERY_BROKER_URL,"
        " s.CACHES['default']['BACKEND'], s.EMAIL_HOST, s.EMAIL_PORT, s.DEBUG,"
        " s.SECURE_SSL_REDIRECT, s.SITE_URL, s.ALLOWED_HOSTS, s.CELERY_TASK_ALWAYS_EAGER",
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [
        "django.db.backends.postgresql",
        "xm",
        "redis://cache.example:6379/2",
        "django.core.cache.backends.redis.RedisCache",
        "mail.example",
        "2525",
        "False",
        "True",
        "https://xm.example.com",
        "['xm.example.com',",
        "'api.example.com']",
        "False",
    ]


def test_production_without_secret_key_fails_loudly() -> None:
    out = _settings({"DATABASE_URL": "postgres://u@h/db"}, "1")
    assert out.returncode != 0
    assert "SECRET_KEY is not set" in out.stderr


def test_ssl_redirect_can_be_switched_off_behind_a_proxy() -> None:
    out = _settings(
        {"DEBUG": "0", "SECRET_KEY": "k" * 60, "SECURE_SSL_REDIRECT": "0"},
        "s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.SECURE_HSTS_SECONDS",
    )
    assert out.stdout.split() == ["False", "True", "31536000"], out.stderr


def test_unsupported_database_is_refused() -> None:
    out = _settings({"DATABASE_URL": "mysql://u@h/db", "SECRET_KEY": "k" * 60}, "1")
    assert out.returncode != 0
    assert "supports postgres" in out.stderr


def test_check_deploy_is_clean_in_production() -> None:
    clean = {k: v for k, v in os.environ.items() if k not in PROD_OVERRIDES}
    out = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env={
            **clean,
            "DEBUG": "0",
            "SECRET_KEY": "a-production-secret-" + "z" * 50,
            # A deployment sends from its own domain (surveys.W001 warns about localhost).
            "DEFAULT_FROM_EMAIL": "Surveys <surveys@example.com>",
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_channels_are_configured_from_the_environment() -> None:
    out = _settings(
        {
            "EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
            "ANYMAIL_POSTMARK_SERVER_TOKEN": "pm-token",
            "SURVEY_SMS_PROVIDER": "twilio",
            "TWILIO_ACCOUNT_SID": "AC1",
            "TWILIO_AUTH_TOKEN": "tw-secret",
            "TWILIO_FROM": "+905550000000",
            "SURVEY_SENDS_PER_SECOND": "250",
        },
        "s.EMAIL_BACKEND, s.ANYMAIL, s.SURVEY_SMS_PROVIDER, s.TWILIO_ACCOUNT_SID, s.TWILIO_FROM,"
        " s.SURVEY_SENDS_PER_SECOND",
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [
        "anymail.backends.postmark.EmailBackend",
        "{'POSTMARK_SERVER_TOKEN':",
        "'pm-token'}",
        "twilio",
        "AC1",
        "+905550000000",
        "250",
    ]


def test_an_sms_provider_without_its_settings_fails_at_start_up() -> None:
    out = _settings({"SURVEY_SMS_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": "AC1"}, "1")
    assert out.returncode != 0
    assert "needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM" in out.stderr
    out = _settings({"SURVEY_SMS_PROVIDER": "carrier-pigeon"}, "1")
    assert "use console, file or twilio" in out.stderr
