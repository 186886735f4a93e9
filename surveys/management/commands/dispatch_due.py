"""`manage.py dispatch_due [--now ISO-8601]`: one dispatch cycle, synchronously.

What beat runs on its ticks, at once: reconcile, expire, send the due invitations, then the
reminders owed.
"""

import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from surveys.distribution import reminders, sending


class Command(BaseCommand):
    help = _("Send what is due now (what the beat schedule runs every minute).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--now",
            help=_("Pretend it is this moment (ISO-8601 with a UTC offset), e.g. for tests."),
        )

    def handle(self, *args: object, **options: object) -> None:
        now = timezone.now()
        if options.get("now"):
            try:
                now = datetime.datetime.fromisoformat(str(options["now"]))
            except ValueError as exc:
                raise CommandError(
                    _("--now must be ISO-8601, e.g. 2026-05-01T09:30:00+00:00.")
                ) from exc
            if timezone.is_naive(now):
                raise CommandError(_("--now needs a UTC offset, e.g. 2026-05-01T09:30:00+00:00."))
        totals = sending.dispatch_cycle(now=now)
        totals["reminders"] = reminders.reminders_cycle(now=now)
        for key in sorted(totals):
            self.stdout.write(f"{key}: {totals[key]}")
