"""Rebuild the daily rollups for a range of days (backfills, after erasures or imports).

Without --from it catches up: from the day after the rollups' watermark (the first day any
response was completed when there is none yet) to today.
"""

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext as _

from metrics.models import RollupState
from metrics.services import operations_snapshots_refresh, rollups_rebuild
from surveys.models import Response


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
        parser.add_argument(
            "--from",
            dest="date_from",
            help="first day, YYYY-MM-DD (default: the day after the rollups' watermark)",
        )
        parser.add_argument("--to", dest="date_to", help="last day, YYYY-MM-DD (default: today)")

    def handle(self, *args: Any, **options: Any) -> None:
        date_to = _day(options["date_to"]) if options["date_to"] else timezone.localdate()
        date_from = _day(options["date_from"]) if options["date_from"] else _catch_up_from(date_to)
        if date_to < date_from:
            raise CommandError(_("--to must not be before --from."))
        rows = rollups_rebuild(date_from=date_from, date_to=date_to)
        # The dashboard's operational periods end today and are computed from the rollups.
        operations_snapshots_refresh(today=timezone.now().date())
        self.stdout.write(
            _("Rebuilt rollups for %(a)s…%(b)s: %(n)d rows.")
            % {"a": date_from, "b": date_to, "n": rows}
        )


def _catch_up_from(date_to: dt.date) -> dt.date:
    """The day after the watermark, else the first day a response was completed (else today)."""
    through = RollupState.objects.filter(pk=1).values_list("complete_through", flat=True).first()
    if through is not None:
        return min(through + dt.timedelta(days=1), date_to)
    first = Response.objects.filter(completed_on__isnull=False).aggregate(first=Min("completed_on"))
    return min(first["first"] or date_to, date_to)
