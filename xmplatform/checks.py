"""Start-up checks run while the settings load: a bad value stops the start with a message
saying how to fix it, before any request is served.

Nothing here may import models or read django.conf.settings: settings.py calls it.
"""

from django.core.exceptions import ImproperlyConfigured

SECRET_KEY_MIN_LENGTH = 50
HOW_TO_GENERATE = (
    "Generate one with: "
    'python -c "import secrets; print(secrets.token_urlsafe(50))" '
    "and set it in the environment of every process (web, worker, beat)."
)


def secret_key_checked(value: str, *, debug: bool, development_key: str) -> str:
    """The SECRET_KEY to use: `value`, or the embedded development key when DEBUG is on and
    none is set. With DEBUG off (production) a missing key, one under 50 characters and the
    embedded development key all refuse to start: sessions, CSRF tokens and the survey links
    are signed with it."""
    if not value:
        if debug:
            return development_key
        raise ImproperlyConfigured(
            f"SECRET_KEY is not set. With DEBUG off set SECRET_KEY to a long random string. "
            f"{HOW_TO_GENERATE}"
        )
    if debug:
        return value
    if value == development_key:
        raise ImproperlyConfigured(
            "SECRET_KEY is the embedded development key, which is public: production needs "
            f"its own. {HOW_TO_GENERATE}"
        )
    if len(value) < SECRET_KEY_MIN_LENGTH:
        raise ImproperlyConfigured(
            f"SECRET_KEY has {len(value)} characters; production needs at least "
            f"{SECRET_KEY_MIN_LENGTH} random ones. {HOW_TO_GENERATE}"
        )
    return value
