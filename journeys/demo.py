"""Demo journeys (stages, touchpoints) and touchpoint events for `seed_demo`.

Touchpoints are found by their platform-wide slug, so re-running creates nothing new. Events
go to demo members who have none yet for their audience's journey (one anti-join per chunk,
walking memberships by id), so a second run writes no events.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef

from audiences.models import Audience, Membership
from journeys.models import Journey, Stage, Touchpoint, TouchpointEvent, TouchpointRole

CHUNK = 5000
WINDOW_DAYS = 90
R = TouchpointRole
DELIVERY = "cust-delivery"  # an online order delivered; attribute `late` (after three days)
LEAVING = ("cust-cancellation", "emp-exit-interview")

# audience slug -> (journey name, [(stage, [(slug, name, channel, role)])])
JOURNEYS: dict[str, tuple[str, list[tuple[str, list[tuple[str, str, str, str]]]]]] = {
    "customers": (
        "Customer journey",
        [
            (
                "Awareness",
                [
                    ("cust-ad-click", "Ad clicked", "social", R.NONE),
                    ("cust-website-visit", "Website visit", "web", R.NONE),
                ],
            ),
            (
                "Sign-up and trial",
                [
                    ("cust-signup", "Account created", "web", R.SIGNUP),
                    ("cust-trial-start", "Trial started", "app", R.TRIAL_STARTED),
                ],
            ),
            (
                "Purchase",
                [
                    ("cust-checkout", "Online checkout", "web", R.PURCHASE),
                    ("cust-store-purchase", "Store purchase", "store", R.PURCHASE),
                    ("cust-referral-purchase", "Referred purchase", "web", R.REFERRAL),
                ],
            ),
            # Each online order is delivered a few days later, some late (attribute `late`).
            ("Delivery", [("cust-delivery", "Order delivered", "other", R.NONE)]),
            (
                "Onboarding",
                [
                    ("cust-welcome-email", "Welcome e-mail", "email", R.NONE),
                    ("cust-first-use", "First use of the app", "app", R.NONE),
                ],
            ),
            (
                "Support",
                [
                    ("cust-support-call", "Support call closed", "phone", R.SUPPORT_REQUEST),
                    ("cust-support-chat", "Support chat closed", "chat", R.SUPPORT_REQUEST),
                ],
            ),
            (
                "Renewal or exit",
                [
                    ("cust-trial-converted", "Trial converted to paid", "web", R.TRIAL_CONVERTED),
                    ("cust-cancellation", "Subscription cancelled", "web", R.CHURNED),
                ],
            ),
        ],
    ),
    "employees": (
        "Employee journey",
        [
            (
                "Recruiting",
                [
                    ("emp-application", "Application received", "web", R.NONE),
                    ("emp-interview", "Interview", "in-person", R.NONE),
                ],
            ),
            (
                "Onboarding",
                [
                    ("emp-first-day", "First day", "in-person", R.SIGNUP),
                    ("emp-first-payroll", "First payroll", "email", R.NONE),
                ],
            ),
            (
                "Growth",
                [
                    ("emp-performance-review", "Performance review", "in-person", R.NONE),
                    ("emp-training", "Training completed", "app", R.NONE),
                ],
            ),
            (
                "Support",
                [("emp-it-helpdesk", "IT helpdesk ticket closed", "chat", R.SUPPORT_REQUEST)],
            ),
            ("Exit", [("emp-exit-interview", "Exit interview", "in-person", R.CHURNED)]),
        ],
    ),
    "fans": (
        "Fan journey",
        [
            ("Discover", [("fan-social-follow", "Followed on social media", "social", R.NONE)]),
            (
                "Match day",
                [
                    ("fan-ticket-purchase", "Ticket bought", "web", R.PURCHASE),
                    ("fan-stadium-entry", "Stadium entry", "in-person", R.NONE),
                ],
            ),
            ("Merchandise", [("fan-merch-purchase", "Merchandise bought", "store", R.PURCHASE)]),
            (
                "Community",
                [
                    ("fan-app-checkin", "Fan app check-in", "app", R.NONE),
                    ("fan-newsletter", "Newsletter opened", "email", R.NONE),
                ],
            ),
        ],
    ),
    "suppliers": (
        "Supplier journey",
        [
            ("Onboarding", [("sup-registration", "Supplier registered", "web", R.SIGNUP)]),
            ("Ordering", [("sup-purchase-order", "Purchase order sent", "email", R.NONE)]),
            (
                "Delivery",
                [
                    ("sup-delivery-received", "Delivery received", "in-person", R.NONE),
                    ("sup-quality-check", "Quality check", "in-person", R.NONE),
                ],
            ),
            ("Invoicing", [("sup-invoice-paid", "Invoice paid", "email", R.NONE)]),
            ("Support", [("sup-helpdesk", "Supplier helpdesk call", "phone", R.SUPPORT_REQUEST)]),
        ],
    ),
}


def seed_journeys(*, audiences: dict[str, Audience]) -> dict[str, Touchpoint]:
    """One journey per demo audience with stages and touchpoints; returns touchpoints by slug."""
    touchpoints: dict[str, Touchpoint] = {}
    for slug, (journey_name, stages) in JOURNEYS.items():
        journey, _ = Journey.objects.get_or_create(audience=audiences[slug], name=journey_name)
        for order, (stage_name, points) in enumerate(stages, start=1):
            stage, _ = Stage.objects.get_or_create(
                journey=journey, name=stage_name, defaults={"order": order}
            )
            for tp_order, (tp_slug, name, channel, role) in enumerate(points, start=1):
                touchpoints[tp_slug], _ = Touchpoint.objects.select_related(
                    "stage__journey"
                ).get_or_create(
                    slug=tp_slug,
                    defaults={
                        "stage": stage,
                        "name": name,
                        "channel": channel,
                        "role": role,
                        "order": tp_order,
                    },
                )
    return touchpoints


class _EventMaker:
    """Draws a few plausible events for one membership."""

    def __init__(self, rng: random.Random, now: dt.datetime) -> None:
        self.r = rng
        self.now = now
        self.start = now - dt.timedelta(days=WINDOW_DAYS)

    def when(self) -> dt.datetime:
        return self.now - dt.timedelta(seconds=self.r.randrange(1, WINDOW_DAYS * 86400))

    def on(self, day: dt.date) -> dt.datetime:
        moment = dt.datetime.combine(day, dt.time(8), tzinfo=dt.UTC)
        moment += dt.timedelta(seconds=self.r.randrange(0, 10 * 3600))
        return min(max(moment, self.start), self.now - dt.timedelta(minutes=1))

    def value(self) -> float:
        return round(min(self.r.lognormvariate(4.2, 0.7), 2500.0), 2)

    def support(self) -> dict[str, Any]:
        return {
            "handling_seconds": self.r.randint(90, 1800),
            "first_contact_resolved": self.r.random() < 0.72,
        }

    def delivery(self, ordered: dt.datetime) -> list[tuple[str, dt.datetime, dict[str, Any]]]:
        """An online order's delivery, if it came yet: in one to three days, one in four late
        (four to eight days)."""
        late = self.r.random() < 0.25
        delivered = ordered + dt.timedelta(
            days=self.r.uniform(4, 8) if late else self.r.uniform(1, 3)
        )
        if delivered >= self.now:
            return []
        return [(DELIVERY, delivered, {"late": late})]

    def events(
        self, slug: str, joined_on: dt.date | None, left_on: dt.date | None
    ) -> list[tuple[str, dt.datetime, dict[str, Any]]]:
        r = self.r
        out: list[tuple[str, dt.datetime, dict[str, Any]]] = []
        joined = joined_on or self.start.date()
        recent = joined_on is not None and joined_on >= self.start.date()
        if slug == "customers":
            if recent:
                out.append(("cust-signup", self.on(joined), {}))
                out.append(("cust-welcome-email", self.on(joined), {}))
            if r.random() < 0.3:
                started = self.when()
                out.append(("cust-trial-start", started, {}))
                converted = started + dt.timedelta(days=14)
                if converted < self.now and r.random() < 0.55:
                    out.append(("cust-trial-converted", converted, {}))
            for _ in range(r.choice((1, 1, 2, 2, 3))):
                tp = "cust-checkout" if r.random() < 0.7 else "cust-store-purchase"
                bought = self.when()
                out.append((tp, bought, {"value": self.value()}))
                if tp == "cust-checkout":
                    out.extend(self.delivery(bought))
            if r.random() < 0.1:
                out.append(("cust-referral-purchase", self.when(), {"value": self.value()}))
            if r.random() < 0.25:
                tp = "cust-support-call" if r.random() < 0.5 else "cust-support-chat"
                out.append((tp, self.when(), self.support()))
            if r.random() < 0.2:
                out.append(("cust-website-visit", self.when(), {}))
            if r.random() < 0.15:
                out.append(("cust-ad-click", self.when(), {}))
            if recent and r.random() < 0.7:
                out.append(("cust-first-use", self.on(joined + dt.timedelta(days=1)), {}))
            if left_on is not None:
                out.append(("cust-cancellation", self.on(left_on), {}))
        elif slug == "employees":
            if recent or r.random() < 0.03:
                out.append(("emp-first-day", self.when() if not recent else self.on(joined), {}))
            out.append(("emp-performance-review", self.when(), {}))
            if r.random() < 0.5:
                out.append(("emp-training", self.when(), {}))
            if r.random() < 0.3:
                out.append(("emp-it-helpdesk", self.when(), self.support()))
            if left_on is not None:
                out.append(("emp-exit-interview", self.on(left_on), {}))
        elif slug == "fans":
            out.append(("fan-social-follow", self.when(), {}))
            if r.random() < 0.5:
                out.append(
                    ("fan-ticket-purchase", self.when(), {"value": round(r.uniform(15, 120), 2)})
                )
                if r.random() < 0.85:
                    out.append(("fan-stadium-entry", self.when(), {}))
            if r.random() < 0.2:
                out.append(("fan-merch-purchase", self.when(), {"value": self.value()}))
            if r.random() < 0.4:
                out.append(("fan-app-checkin", self.when(), {}))
        else:
            out.append(("sup-purchase-order", self.when(), {}))
            if r.random() < 0.8:
                out.append(("sup-delivery-received", self.when(), {}))
            if r.random() < 0.6:
                out.append(("sup-invoice-paid", self.when(), {}))
            if r.random() < 0.2:
                out.append(("sup-helpdesk", self.when(), self.support()))
        if left_on is not None:
            # Nothing after leaving but the leaving itself (it falls on that day, from 08:00).
            gone = dt.datetime.combine(left_on, dt.time(8), tzinfo=dt.UTC)
            out = [e for e in out if e[1] < gone or e[0] in LEAVING]
        return out


def seed_events(
    *,
    audiences: dict[str, Audience],
    touchpoints: dict[str, Touchpoint],
    person_prefix: str,
    rng: random.Random,
    now: dt.datetime,
    progress: Callable[[int], None] | None = None,
) -> int:
    """A few events in the last 90 days for each demo member without events yet; returns count.

    Per audience and chunk of memberships: one SELECT (members with no event on the audience's
    touchpoints: an anti-join probing the (person, occurred_at) index) and one bulk write of
    the events (COPY on PostgreSQL, bulk INSERT elsewhere).
    """
    maker = _EventMaker(rng, now)
    created = 0
    for slug, audience in audiences.items():
        tp_ids = [
            tp.pk for tp in touchpoints.values() if tp.stage.journey.audience_id == audience.pk
        ]
        has_events = TouchpointEvent.objects.filter(
            person_id=OuterRef("person_id"), touchpoint_id__in=tp_ids
        )
        pending = (
            Membership.objects.filter(
                audience=audience, person__external_id__startswith=person_prefix
            )
            .exclude(Exists(has_events))
            .order_by("id")
            .values_list("id", "person_id", "joined_on", "left_on")
        )
        last_id = 0
        while True:
            batch = list(pending.filter(id__gt=last_id)[:CHUNK])
            if not batch:
                break
            last_id = batch[-1][0]
            rows = [
                (person_id, touchpoints[tp_slug].pk, occurred_at, attributes)
                for _id, person_id, joined_on, left_on in batch
                for tp_slug, occurred_at, attributes in maker.events(slug, joined_on, left_on)
            ]
            _write_events(rows, now)
            created += len(rows)
            if progress is not None:
                progress(len(batch))
    return created


def _write_events(
    rows: list[tuple[int, int, dt.datetime, dict[str, Any]]], now: dt.datetime
) -> None:
    if connection.vendor != "postgresql":
        TouchpointEvent.objects.bulk_create(
            [
                TouchpointEvent(person_id=p, touchpoint_id=t, occurred_at=o, attributes=a)
                for p, t, o, a in rows
            ],
            batch_size=CHUNK,
        )
        return
    # COPY is several times faster than a multi-row INSERT for millions of demo events.
    table = TouchpointEvent._meta.db_table
    sql = (
        f"COPY {table} (person_id, touchpoint_id, occurred_at, recorded_at, attributes) "  # noqa: S608
        "FROM STDIN"
    )
    with connection.cursor() as cursor, cursor.copy(sql) as copy:
        for person_id, touchpoint_id, occurred_at, attributes in rows:
            copy.write_row((person_id, touchpoint_id, occurred_at, now, json.dumps(attributes)))
