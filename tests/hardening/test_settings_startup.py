"""Settings read at start-up: production refuses a SECRET_KEY under 50 characters or the
embedded default (and the keys the Makefile hands to production-mode processes are long enough
on any host); webhook and log-in limits come from the environment."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from xmplatform.checks import secret_key_checked

pytestmark = pytest.mark.startup

ROOT = Path(__file__).resolve().parents[2]
DEV = "embedded-development-key-never-use-in-production-" + "x" * 16
GOOD = "a-production-like-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
OVERRIDES = (
    "DATABASE_URL",
    "REDIS_URL",
    "DEBUG",
    "SECRET_KEY",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "WEBHOOK_ALLOW_PRIVATE",
    "LOGIN_FAILURE_LIMIT",
    "LOGIN_LOCKOUT_MINUTES",
    "NUM_PROXIES",
)


def start(env: dict[str, str], expr: str = "") -> subprocess.CompletedProcess:
    """Load the settings in a fresh process with `env` in place of the settings environment,
    and print `expr` (read from `s`, the settings)."""
    clean = {k: v for k, v in os.environ.items() if k not in OVERRIDES}
    code = "import django; django.setup()"
    if expr:
        code += f"; from django.conf import settings as s; print({expr})"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "xmplatform.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_with_a_short_secret_key_refuses_to_start() -> None:
    done = start({"DEBUG": "0", "SECRET_KEY": "k" * 49})

    assert done.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY has 49 characters" in done.stderr
    assert "at least 50 random ones" in done.stderr
    assert "secrets.token_urlsafe(50)" in done.stderr


def test_production_with_the_embedded_key_refuses_to_start() -> None:
    done = start({"DEBUG": "0", "SECRET_KEY": DEV})

    assert done.returncode != 0
    assert "SECRET_KEY is the embedded development key" in done.stderr
    assert "secrets.token_urlsafe(50)" in done.stderr


def test_production_with_a_key_of_50_characters_starts() -> None:
    done = start({"DEBUG": "0", "SECRET_KEY": "k" * 50})

    assert done.returncode == 0, done.stderr


def test_the_embedded_setup_keeps_its_development_key() -> None:
    assert secret_key_checked("", debug=True, development_key=DEV) == DEV
    assert secret_key_checked("short", debug=True, development_key=DEV) == "short"
    assert secret_key_checked(GOOD, debug=False, development_key=DEV) == GOOD
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY is not set"):
        secret_key_checked("", debug=False, development_key=DEV)


def test_the_embedded_default_is_the_one_settings_embed() -> None:
    from xmplatform import settings as module

    assert module._DEV_SECRET_KEY == DEV


def make_default(variable: str, line_start: str) -> str:
    """The SECRET_KEY default a Makefile recipe uses, as the shell would expand it, on a host
    with a one-letter name."""
    text = (ROOT / "Makefile").read_text()
    line = next(line for line in text.splitlines() if line.startswith(line_start))
    value = re.search(rf"{variable}=(\S+)", line).group(1)
    value = value.replace("$$(hostname)", "h")
    match = re.fullmatch(r"\$\$\{SECRET_KEY:-(.*)\}", value)
    return match.group(1) if match else value


def test_makefile_production_key_is_long_enough_on_a_short_host_name() -> None:
    key = make_default("SECRET_KEY", "PROD_ENV :=")

    assert len(key) >= 50, key


def test_makefile_lint_key_is_long_enough_on_a_short_host_name() -> None:
    key = make_default("SECRET_KEY", "\tenv -u DATABASE_URL -u REDIS_URL DEBUG=0 SECRET_KEY=")

    assert len(key) >= 50, key


def test_private_webhook_receivers_are_off_unless_the_environment_allows_them() -> None:
    default = start({}, "s.WEBHOOK_ALLOW_PRIVATE")
    allowed = start({"WEBHOOK_ALLOW_PRIVATE": "1"}, "s.WEBHOOK_ALLOW_PRIVATE")

    assert (default.stdout.strip(), allowed.stdout.strip()) == ("False", "True"), (
        default.stderr + allowed.stderr
    )


def test_log_in_limits_default_to_five_failures_and_fifteen_minutes() -> None:
    done = start(
        {},
        "s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.total_seconds(), s.AXES_LOCKOUT_PARAMETERS,"
        " s.AXES_CLIENT_IP_CALLABLE, s.AUTHENTICATION_BACKENDS[0], s.MIDDLEWARE[-1]",
    )

    assert done.stdout.strip() == (
        "5 900.0 [['username', 'ip_address']] xmplatform.login.client_address "
        "xmplatform.login.LoginAttemptsBackend axes.middleware.AxesMiddleware"
    ), done.stderr


def test_log_in_limits_come_from_the_environment() -> None:
    done = start(
        {"LOGIN_FAILURE_LIMIT": "10", "LOGIN_LOCKOUT_MINUTES": "60"},
        "s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.total_seconds()",
    )
    refused = start({"LOGIN_LOCKOUT_MINUTES": "0"})

    assert done.stdout.strip() == "10 3600.0", done.stderr
    assert refused.returncode != 0
    assert "LOGIN_FAILURE_LIMIT and LOGIN_LOCKOUT_MINUTES must be at least 1" in refused.stderr
