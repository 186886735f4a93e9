"""Create an API key and print it once: only its hash is stored."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audiences.models import Audience
from xmplatform.api.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key (printed once; only its hash is stored)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="What the key is for, e.g. 'CRM sync'.")
        parser.add_argument(
            "--audience",
            action="append",
            default=[],
            metavar="SLUG",
            help="Limit the key to this audience (repeat for several; none: all audiences).",
        )
        parser.add_argument("--read-only", action="store_true", help="The key may only read.")

    def handle(self, *args: Any, **options: Any) -> None:
        slugs = list(dict.fromkeys(options["audience"]))
        audiences = list(Audience.objects.filter(slug__in=slugs))
        missing = sorted(set(slugs) - {a.slug for a in audiences})
        if missing:
            known = ", ".join(Audience.objects.order_by("slug").values_list("slug", flat=True))
            raise CommandError(
                f"Unknown audience(s): {', '.join(missing)}. Known audiences: {known or 'none'}."
            )
        api_key, plain = api_key_create(
            name=options["name"], audiences=audiences, read_only=options["read_only"]
        )
        scope = ", ".join(a.slug for a in audiences) or "all audiences"
        mode = "read-only" if api_key.read_only else "read-write"
        self.stderr.write(f"Created API key {api_key.name!r} ({mode}, {scope}).")
        self.stderr.write("Store it now: it is shown only this once.")
        self.stdout.write(plain)
