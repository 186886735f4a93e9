"""manage.py import_people AUDIENCE_SLUG FILE.csv"""

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from tqdm import tqdm

from audiences.models import Audience
from audiences.services.csv_import import people_import_csv


class Command(BaseCommand):
    help = "Import people into an audience from a UTF-8 CSV file (all rows or none)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("audience", help="The audience's slug, e.g. customers.")
        parser.add_argument("file", type=Path, help="The CSV file.")

    def handle(self, *args: Any, **options: Any) -> None:
        slug = options["audience"]
        audience = Audience.objects.filter(slug=slug).first()
        if audience is None:
            known = ", ".join(Audience.objects.order_by("slug").values_list("slug", flat=True))
            raise CommandError(
                _("No audience with slug %(slug)s. Known audiences: %(known)s.")
                % {"slug": slug, "known": known or _("none yet")}
            )
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(_("File %(path)s does not exist.") % {"path": path})
        err = getattr(self.stderr, "_out", sys.stderr)
        with (
            path.open("rb") as fh,
            # disable=None: the bar shows on a terminal only, never in logs or captured output.
            tqdm(unit=" rows", desc=_("Importing"), file=err, leave=False, disable=None) as bar,
        ):
            report = people_import_csv(audience=audience, file=fh, progress=bar.update)
        if not report.ok:
            for line in report.errors:
                self.stderr.write(line)
            raise CommandError(report.summary())
        self.stdout.write(self.style.SUCCESS(report.summary()))
