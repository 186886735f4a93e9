"""Deployment checks of how surveys reach people (run by `manage.py check --deploy`)."""

from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core import checks

# Sender domains no receiving server accepts mail from (SPF/DMARC cannot pass for them).
LOCAL_DOMAINS = ("localhost", "localdomain", "local", "invalid", "example", "test")


def sender_domain(value: str) -> str:
    """The domain of an address like `Name <user@domain>` (lower case, "" when there is none)."""
    _name, address = parseaddr(value)
    _user, at, domain = address.rpartition("@")
    return domain.strip().rstrip(".").lower() if at else ""


@checks.register("email", deploy=True)
def sender_is_deliverable(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Warn when invitations would go out from a local address: DEFAULT_FROM_EMAIL's domain is
    `localhost` (the development default) or another name no mail server accepts."""
    domain = sender_domain(settings.DEFAULT_FROM_EMAIL)
    last = domain.rpartition(".")[2]
    if domain and last not in LOCAL_DOMAINS and domain != "127.0.0.1":
        return []
    return [
        checks.Warning(
            f"DEFAULT_FROM_EMAIL is {settings.DEFAULT_FROM_EMAIL!r}: invitations and reminders "
            "from that address are refused or filed as spam.",
            hint="Set DEFAULT_FROM_EMAIL to an address on your own domain, e.g. "
            "'Surveys <surveys@example.com>', with SPF and DKIM for the sending service.",
            id="surveys.W001",
        )
    ]
