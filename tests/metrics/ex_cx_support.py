"""Builders for the EX ↔ CX tests: an employee and a customer audience sharing `store`."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from audiences.models import AudienceKind, Membership
from metrics import definitions as d
from tests.metrics.conftest import TODAY, World, add_responses, build_world, make_people

# Per store: employee eNPS answers, customer NPS answers, customer CSAT answers.
STORES: dict[str, tuple[list[int], list[int], list[int]]] = {
    "ankara": ([10, 10, 9, 7, 3], [10, 9, 9, 8, 2, 10], [5, 4, 4, 2]),
    "bursa": ([6, 5, 8, 9, 2, 7], [3, 6, 7, 9, 5], [2, 3, 4, 1, 5]),
    "izmir": ([9, 9, 10, 10, 8, 9, 6], [10, 10, 9, 9, 7, 8, 6], [5, 5, 4, 4, 4, 3]),
    "konya": ([7, 8, 4, 5, 9], [8, 7, 6, 9, 4], [4, 3, 3, 2]),
    "samsun": ([10, 4, 9, 9, 3], [9, 5, 10, 6, 8, 10], [4, 5, 2]),
}


@dataclass
class Pair:
    staff: World
    clients: World


def pair(staff_threshold: int = 5) -> Pair:
    """Employees (named eNPS survey) and customers (named NPS and CSAT), both by `store`."""
    staff = build_world(
        "staff", kind=AudienceKind.EMPLOYEE, touchpoints=(), threshold=staff_threshold
    )
    clients = build_world("clients", touchpoints=())
    return Pair(staff=staff, clients=clients)


def answer(
    world: World,
    prefix: str,
    values: list[int],
    *,
    key: str,
    attributes: dict[str, Any] | None = None,
    segment: str = "",
    day: dt.date = TODAY,
) -> None:
    """One named response per value, each from a new member with these attributes."""
    people = make_people(prefix, len(values))
    Membership.objects.bulk_create(
        [
            Membership(
                person=p, audience=world.audience, attributes=attributes or {}, segment=segment
            )
            for p in people
        ]
    )
    add_responses(
        world,
        [
            {key: v, "person": p, "day": day, "segment": segment}
            for p, v in zip(people, values, strict=True)
        ],
    )


def fill(stores: dict[str, tuple[list[int], list[int], list[int]]] = STORES) -> Pair:
    """The pair with every store's answers."""
    worlds = pair()
    for store, (staff, nps, csat) in stores.items():
        answer(worlds.staff, f"e-{store}", staff, key="nps", attributes={"store": store})
        answer(worlds.clients, f"c-{store}", nps, key="nps", attributes={"store": store})
        answer(worlds.clients, f"s-{store}", csat, key="csat", attributes={"store": store})
    return worlds


def nps_of(values: list[int]) -> d.Score:
    return d.nps(
        promoters=sum(v >= 9 for v in values),
        passives=sum(7 <= v <= 8 for v in values),
        detractors=sum(v <= 6 for v in values),
    )


def csat_of(values: list[int]) -> d.Score:
    return d.csat(top2=sum(v >= 4 for v in values), n=len(values))
