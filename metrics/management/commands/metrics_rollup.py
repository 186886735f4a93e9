"""Rebuild the daily rollups for a range of days (backfills, after erasures or imports)."""

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from metrics.services import operations_snapshots_refresh, rollups_rebuild


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            _("%(value)s is not a date; use YYYY-MM-DD.") % {"value": value}
        ) from None


class Command(BaseCommand):
    help = "Recompute the metrics rollups of every day in a range (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="date_from", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--to", dest="date_to", help="last day, YYYY-MM-DD (default: today)")

    def handle(self, *args: Any, **options: Any) -> None:
        date_from = _day(options["date_from"])
        date_to = _day(options["date_to"]) if options["date_to"] else timezone.now().date()
        if date_to < date_from:
            raise CommandError(_("--to must not be before --from."))
        rows = rollups_rebuild(date_from=date_from, date_to=date_to)
        # The dashboard's operational periods end today and are computed from the rollups.
        operations_snapshots_refresh(today=timezone.now().date())
        self.stdout.write(
            _("Rebuilt rollups for %(a)s…%(b)s: %(n)d rows.")
            % {"a": date_from, "b": date_to, "n": rows}
        )
