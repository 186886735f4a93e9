"""`manage.py process_comments`: run the text pipeline now (what beat does every five minutes),
e.g. after seeding demo data in the embedded mode, where no beat runs."""

from typing import Any

from django.core.management.base import BaseCommand

from metrics.comments.processing import comments_process


class Command(BaseCommand):
    help = "Process new free-text answers: stems, sentiment, topics, topic alerts."

    def handle(self, *args: Any, **options: Any) -> None:
        run = comments_process()
        self.stdout.write(
            f"{run.comments} comments processed, {run.links} topic links, "
            f"{len(run.refitted)} questions refitted, sentiment trained: "
            f"{', '.join(run.retrained) or 'none'}, {len(run.alerts)} alerts opened."
        )
