"""manage.py seed_demo [--people N] [--seed S]: a working demo platform, idempotently."""

import datetime as dt
import random
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from tqdm import tqdm

from audiences import demo as people_demo
from audiences.models import Consent, Membership, Person
from journeys import demo as journeys_demo
from journeys.models import TouchpointEvent
from metrics.comments.processing import comments_process
from metrics.demo import seed_closed_loop
from metrics.drivers import selectors as drivers_selectors
from metrics.drivers import services as drivers_services
from metrics.drivers.matrix import DriverFilters
from metrics.services import operations_snapshots_refresh, rollups_rebuild
from surveys.demo import seed_distribution, seed_surveys
from surveys.intercept.demo import seed_intercept
from surveys.models import Response

# Days of seeded history (events and most surveys go back 90 days), with a margin for time
# zones; the rollups reach further back when a response does (the pulse's earlier waves).
DEMO_HISTORY_DAYS = 92
# Every outcome question of the demo surveys gets its all-time key-driver analysis.
DEMO_DRIVER_ANALYSES = 50


class Command(BaseCommand):
    help = (
        "Create demo owners, audiences, journeys, people and touchpoint events (and the demo "
        "surveys with their distribution rules). Running it again creates nothing twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--people", type=int, default=3000, help="How many people (3000).")
        parser.add_argument("--seed", type=int, default=42, help="Random seed (42).")

    def handle(self, *args: Any, **options: Any) -> None:
        count: int = options["people"]
        seed: int = options["seed"]
        if count < 0:
            raise CommandError("--people must be 0 or more.")
        now = timezone.now()
        rng = random.Random(seed)  # noqa: S311 - demo data, not secrets
        started = time.monotonic()
        err = getattr(self.stderr, "_out", None)
        # One transaction: an interrupted run leaves nothing half-seeded behind.
        with transaction.atomic():
            _admin, owners, _ = people_demo.seed_users()
            audiences = people_demo.seed_audiences(owners)
            touchpoints = journeys_demo.seed_journeys(audiences=audiences)
            with tqdm(total=count, desc="people", unit=" people", file=err, leave=False) as bar:
                people = people_demo.seed_people(
                    count=count,
                    seed=seed,
                    today=timezone.localdate(now),
                    audiences=audiences,
                    progress=bar.update,
                )
            consents = people_demo.seed_consents(
                audience=audiences["fans"], person_prefix=people_demo.DEMO_PREFIX, seed=seed
            )
            with tqdm(desc="events", unit=" members", file=err, leave=False) as bar:
                events = journeys_demo.seed_events(
                    audiences=audiences,
                    touchpoints=touchpoints,
                    person_prefix=people_demo.DEMO_PREFIX,
                    rng=rng,
                    now=now,
                    progress=bar.update,
                )
        seeded = time.monotonic() - started
        self.stdout.write(
            f"People: {people.created} new ({Person.objects.count()} in all); "
            f"memberships: {people.memberships_created} new "
            f"({Membership.objects.count()} in all); consents: {consents} new "
            f"({Consent.objects.count()} in all); touchpoint events: {events} new "
            f"({TouchpointEvent.objects.count()} in all). {seeded:.1f}s."
        )
        seed_surveys(now=now, rng=rng, stdout=self.stdout)
        seed_distribution(now=now, stdout=self.stdout)
        seed_intercept(stdout=self.stdout)
        # The dashboard and the scores API read the rollups, which beat keeps for new days
        # only: the seeded history is rolled up here, so a fresh demo shows its scores. It
        # starts at the earliest response: an anonymous one sits on its period's first day,
        # and the quarterly pulse's first wave is two quarters back.
        today = now.date()
        since = today - dt.timedelta(days=DEMO_HISTORY_DAYS)
        earliest = Response.objects.aggregate(first=Min("completed_on"))["first"]
        since = min(since, earliest) if earliest else since
        rolled = rollups_rebuild(date_from=since, date_to=today + dt.timedelta(days=1))
        operations_snapshots_refresh(today=today)
        self.stdout.write(f"Rollups: {rolled} rows for the days since {since.isoformat()}.")
        loop = seed_closed_loop(now=now)
        self.stdout.write(
            f"Closed loop: {loop['rules']} alert rules, {loop['alerts']} alerts with cases, "
            f"{loop['closed']} cases closed."
        )
        # The embedded demo runs no beat: what its five-minute entries would file for the
        # insight pages (comments' stems, topics and sentiment; all-time key drivers) is filed
        # here, so a fresh demo opens with topics and drivers.
        comments = comments_process()
        drivers = 0
        everything = DriverFilters().canonical()
        for survey_id, outcome in drivers_selectors.analyses_missing(limit=DEMO_DRIVER_ANALYSES):
            if drivers_services.analysis_compute(
                survey_id=survey_id, outcome=outcome, filters=everything, now=now
            ):
                drivers += 1
        self.stdout.write(
            f"Insight: {comments.comments} comments processed into topics; "
            f"{drivers} key-driver analyses."
        )
        self.stdout.write(self._login_line())

    def _login_line(self) -> str:
        from django.contrib.auth import get_user_model

        admin = get_user_model().objects.get(username=people_demo.ADMIN_USERNAME)
        url = f"{settings.SITE_URL}/admin/"
        password = people_demo.demo_admin_password()
        if admin.check_password(password):
            return self.style.SUCCESS(f"Log in at {url} as admin / {password}")
        return self.style.WARNING(
            f"Log in at {url} as admin with the password you set "
            "(reset it with: manage.py changepassword admin)."
        )
