"""Demo people, owners and audiences for `seed_demo`.

Person number i is generated from its own random stream (seed, i), so the same seed always
yields the same people whatever --people is, and a second run finds them all present and
writes nothing. Everything is bulk: one SELECT per chunk to find who exists, bulk INSERTs for
the rest (see `people_upsert`).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.crypto import salted_hmac

from audiences.branding import Font, logo_store
from audiences.models import (
    Audience,
    AudienceKind,
    Channel,
    Consent,
    ConsentStatus,
    Membership,
    Person,
)
from audiences.services import UpsertResult, people_upsert

CHUNK = 2000
DEMO_PREFIX = "demo-"
ADMIN_USERNAME = "admin"


@dataclass(frozen=True)
class AudienceSpec:
    slug: str
    name: str
    kind: str
    owner: str
    priority: int
    requires_opt_in: bool = False
    description: str = ""
    brand: dict[str, Any] | None = None  # brand columns (audiences.branding); a logo if set


AUDIENCES = (
    AudienceSpec(
        "customers",
        "Customers",
        AudienceKind.CUSTOMER,
        "cx.owner",
        10,
        description="People who buy from us, from trial to renewal.",
        brand={
            "brand_colour": "#0f5c4a",
            "brand_font": Font.HUMANIST,
            "brand_cta_text": "Back to our shop",
            "brand_cta_url": "https://shop.example.com/",
        },
    ),
    AudienceSpec(
        "employees",
        "Employees",
        AudienceKind.EMPLOYEE,
        "hr.owner",
        20,
        description="Our colleagues: recruiting to exit. Anonymous by design.",
    ),
    AudienceSpec(
        "fans",
        "Fans",
        AudienceKind.FAN,
        "community.owner",
        30,
        requires_opt_in=True,
        description="Followers, ticket holders and club members.",
    ),
    AudienceSpec(
        "suppliers",
        "Suppliers",
        AudienceKind.SUPPLIER,
        "procurement.owner",
        40,
        description="Companies we buy from.",
    ),
)

TR_FIRST = (
    "Ayşe Mehmet Fatma Mustafa Zeynep Ahmet Elif Emre Merve Burak Selin Can Deniz Ece Kerem "
    "Gizem Oğuz Büşra Hakan Özge Murat Cansu Serkan Pınar Tolga İrem Barış Şule Cem Yasemin"
).split()
TR_LAST = (
    "Yılmaz Kaya Demir Şahin Çelik Yıldız Yıldırım Öztürk Aydın Özdemir Arslan Doğan Kılıç "
    "Aslan Çetin Kara Koç Kurt Özkan Şimşek Polat Erdoğan Güneş Aksoy Korkmaz"
).split()
EN_FIRST = (
    "Olivia James Amelia Oliver Emily Harry Sophia George Grace Jack Chloe Noah Ella Leo "
    "Mia Oscar Lucy Henry Ruby Arthur Hannah Thomas Isla William Freya"
).split()
EN_LAST = (
    "Smith Jones Taylor Brown Williams Wilson Johnson Davies Robinson Wright Thompson Evans "
    "Walker White Roberts Green Hall Wood Jackson Clarke"
).split()
TR_ZONES = ("Europe/Istanbul",)
EN_ZONES = ("Europe/London", "Europe/Berlin", "America/New_York", "Europe/Dublin", "Asia/Dubai")
_ASCII = str.maketrans("çğıöşüÇĞİÖŞÜ", "cgiosuCGIOSU")

PLANS = ("basic", "plus", "premium")
REGIONS = ("marmara", "aegean", "central-anatolia", "mediterranean", "uk", "germany")
# Departments and their share of the employees (a membership attribute; the employees' segment
# is their store): four large ones, two of a few dozen, and two teams of a handful.
DEPARTMENTS = (
    "engineering",
    "sales",
    "support",
    "operations",
    "finance",
    "people",
    "legal",
    "audit",
)
DEPARTMENT_WEIGHTS = (25, 18, 21, 17, 9, 7, 1.5, 1.5)
# The stores customers buy at and employees work in: the unit both audiences share (membership
# attribute `store`; the employees' segment too, since an anonymous answer keeps the segment
# only). Eight large stores and two small ones of a handful of employees, whose anonymous
# results stay hidden on their own. (slug, weight, climate): a store's climate moves its
# employees' mood and, a little less, its customers' (EX drives CX).
STORES: tuple[tuple[str, float, float], ...] = (
    ("istanbul", 20, 0.0),
    ("ankara", 14, -0.03),
    ("izmir", 13, 0.08),
    ("bursa", 10, 0.04),
    ("antalya", 10, 0.06),
    ("adana", 9, -0.07),
    ("konya", 8, -0.04),
    ("trabzon", 7, -0.1),
    ("mardin", 1.5, 0.02),
    ("rize", 1.5, -0.02),
)
STORE_CLIMATE = {slug: climate for slug, _weight, climate in STORES}
FAN_TIERS = ("follower", "ticket-holder", "season-member")
SUPPLY = ("raw-materials", "logistics", "packaging", "services")


def demo_external_id(index: int) -> str:
    return f"{DEMO_PREFIX}{index:07d}"


def demo_person(index: int, *, seed: int, today: dt.date) -> dict[str, Any]:
    """Person `index`: the person row and the memberships {audience slug: membership row}."""
    r = random.Random(seed * 10_000_019 + index)  # noqa: S311 - demo data, not secrets
    turkish = r.random() < 0.6
    first = r.choice(TR_FIRST if turkish else EN_FIRST)
    last = r.choice(TR_LAST if turkish else EN_LAST)
    email = f"{first}.{last}.{index}".translate(_ASCII).lower() + "@example.com"
    phone = f"+90 5{r.randint(30, 59)} {r.randint(100, 999)} {r.randint(1000, 9999)}"
    person = {
        "external_id": demo_external_id(index),
        "email": email,
        "phone": phone if turkish or r.random() < 0.3 else "",
        "name": f"{first} {last}",
        "language": "tr" if turkish else "en",
        "time_zone": r.choice(TR_ZONES if turkish else EN_ZONES),
    }
    u = r.random()
    primary = (
        "customers"
        if u < 0.62
        else "employees"
        if u < 0.74
        else "fans"
        if u < 0.92
        else "suppliers"
    )
    slugs = [primary]
    if primary == "employees" and r.random() < 0.10:
        slugs.append("customers")  # about one employee in ten is also a customer
    if primary == "customers" and r.random() < 0.05:
        slugs.append("fans")
    memberships = {slug: _membership(slug, r, today) for slug in slugs}
    return {"person": person, "memberships": memberships}


def _membership(slug: str, r: random.Random, today: dt.date) -> dict[str, Any]:
    # One customer in seven joined in the last 90 days (their sign-up is an event too).
    recent = slug == "customers" and r.random() < 0.15
    joined_on = today - dt.timedelta(days=r.randint(0, 89) if recent else r.randint(90, 1500))
    row: dict[str, Any] = {"joined_on": joined_on}
    if slug == "customers":
        row["segment"] = r.choices(PLANS, weights=(5, 3, 2))[0]
        row["attributes"] = {"plan": row["segment"], "region": r.choice(REGIONS)}
        if not recent and r.random() < 0.05:
            row["left_on"] = today - dt.timedelta(days=r.randint(1, 89))
        row["attributes"]["store"] = _store(r)
    elif slug == "employees":
        department = r.choices(DEPARTMENTS, weights=DEPARTMENT_WEIGHTS)[0]
        tenure = (today - joined_on).days // 365
        row["attributes"] = {"department": department, "tenure_years": tenure}
        if r.random() < 0.03:
            row["left_on"] = today - dt.timedelta(days=r.randint(1, 89))
        row["segment"] = row["attributes"]["store"] = _store(r)
    elif slug == "fans":
        row["segment"] = r.choices(FAN_TIERS, weights=(6, 3, 1))[0]
        row["attributes"] = {"tier": row["segment"]}
    else:
        row["segment"] = r.choice(SUPPLY)
        row["attributes"] = {"category": row["segment"]}
    return row


def _store(r: random.Random) -> str:
    return r.choices([s for s, _, _ in STORES], weights=[w for _, w, _ in STORES])[0]


def demo_admin_password() -> str:
    """The demo superuser's password: derived from SECRET_KEY, so each install has its own."""
    digest = salted_hmac("xmplatform.demo.admin-password", ADMIN_USERNAME).hexdigest()
    return f"demo-{digest[:6]}-{digest[6:12]}"


def seed_users() -> tuple[AbstractBaseUser, dict[str, Any], bool]:
    """The demo superuser and one owner per audience; returns (admin, owners, admin created)."""
    user_model = get_user_model()
    admin, created = user_model.objects.get_or_create(
        username=ADMIN_USERNAME,
        defaults={"email": "admin@example.com", "is_staff": True, "is_superuser": True},
    )
    if created:
        admin.set_password(demo_admin_password())
        admin.save(update_fields=["password"])
    owners = {}
    for spec in AUDIENCES:
        owner, owner_created = user_model.objects.get_or_create(
            username=spec.owner,
            defaults={"email": f"{spec.owner}@example.com", "is_staff": True},
        )
        if owner_created:
            owner.set_unusable_password()
            owner.save(update_fields=["password"])
        owners[spec.slug] = owner
    return admin, owners, created


def seed_audiences(owners: dict[str, Any]) -> dict[str, Audience]:
    """The four demo audiences, by slug; existing ones are left as they are."""
    audiences = {}
    for spec in AUDIENCES:
        audiences[spec.slug], _created = Audience.objects.get_or_create(
            slug=spec.slug,
            defaults={
                "name": spec.name,
                "kind": spec.kind,
                "owner": owners[spec.slug],
                "priority": spec.priority,
                "requires_opt_in": spec.requires_opt_in,
                "description": spec.description,
                **(
                    {**spec.brand, "brand_logo": logo_store(data=demo_logo(spec.brand))}
                    if spec.brand
                    else {}
                ),
            },
        )
    return audiences


def demo_logo(brand: dict[str, Any], size: int = 96) -> bytes:
    """A round mark in the brand's colour with a white ring, as a PNG (no imaging library)."""
    colour = bytes.fromhex(str(brand["brand_colour"])[1:])
    centre, rows = (size - 1) / 2, []
    for y in range(size):
        row = bytearray(b"\0")  # filter type: none
        for x in range(size):
            distance = ((x - centre) ** 2 + (y - centre) ** 2) ** 0.5
            if distance > size / 2:
                row += b"\0\0\0\0"
            elif abs(distance - size * 0.28) < size * 0.06:
                row += b"\xff\xff\xff\xff"
            else:
                row += colour + b"\xff"
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


def seed_people(
    *,
    count: int,
    seed: int,
    start: int = 0,
    today: dt.date,
    audiences: dict[str, Audience],
    progress: Callable[[int], None] | None = None,
) -> UpsertResult:
    """People start…count-1 and their memberships; only people not yet present are written.

    Per chunk of CHUNK people: one SELECT of the external ids already stored, then the new
    people and their memberships written in bulk. On PostgreSQL that is COPY (several times
    faster than a multi-row INSERT at a million rows) plus one SELECT of the new ids; elsewhere
    `people_upsert`'s bulk INSERTs.
    """
    total = UpsertResult()
    for first in range(start, count, CHUNK):
        stop = min(first + CHUNK, count)
        ids = [demo_external_id(i) for i in range(first, stop)]
        present = set(
            Person.objects.filter(external_id__in=ids).values_list("external_id", flat=True)
        )
        generated = [
            demo_person(i, seed=seed, today=today)
            for i in range(first, stop)
            if demo_external_id(i) not in present
        ]
        if connection.vendor == "postgresql":
            total.add(_copy_people(generated, audiences))
        else:
            total.add(_upsert_people(generated, audiences))
        if progress is not None:
            progress(stop - first)
    return total


def _upsert_people(generated: list[dict[str, Any]], audiences: dict[str, Audience]) -> UpsertResult:
    total = UpsertResult()
    by_audience: dict[str, list[dict[str, Any]]] = {slug: [] for slug in audiences}
    for item in generated:
        for slug, membership in item["memberships"].items():
            by_audience[slug].append({**item["person"], **membership})
    for slug, rows in by_audience.items():
        if rows:
            result = people_upsert(rows=rows, audience=audiences[slug], chunk_size=CHUNK)
            # A person in two audiences is created by the first call and found by the second.
            result.unchanged = 0
            total.add(result)
    return total


def _copy_people(generated: list[dict[str, Any]], audiences: dict[str, Audience]) -> UpsertResult:
    if not generated:
        return UpsertResult()
    now = timezone.now()
    person_columns = ("external_id", "email", "phone", "name", "language", "time_zone")
    with connection.cursor() as cursor:
        with cursor.copy(
            f"COPY {Person._meta.db_table} ({', '.join(person_columns)}, created_at, updated_at) "
            "FROM STDIN"
        ) as copy:
            for item in generated:
                person = item["person"]
                copy.write_row([*(person[c] for c in person_columns), now, now])
        new_ids = dict(
            Person.objects.filter(
                external_id__in=[item["person"]["external_id"] for item in generated]
            ).values_list("external_id", "id")
        )
        memberships = 0
        with cursor.copy(
            f"COPY {Membership._meta.db_table} "
            "(person_id, audience_id, segment, attributes, joined_on, left_on) FROM STDIN"
        ) as copy:
            for item in generated:
                person_id = new_ids[item["person"]["external_id"]]
                for slug, m in item["memberships"].items():
                    copy.write_row(
                        (
                            person_id,
                            audiences[slug].pk,
                            m["segment"],
                            json.dumps(m["attributes"]),
                            m["joined_on"],
                            m.get("left_on"),
                        )
                    )
                    memberships += 1
    return UpsertResult(created=len(generated), memberships_created=memberships)


def seed_consents(*, audience: Audience, person_prefix: str, seed: int) -> int:
    """Consent rows for the opt-in audience's demo members who have none; returns rows written.

    Most fans granted e-mail, some also SMS, a few opted out of e-mail. Per chunk: one SELECT
    (members without any consent row, an anti-join) and one bulk INSERT.
    """
    has_consent = Consent.objects.filter(person_id=OuterRef("person_id"))
    pending = (
        Membership.objects.filter(audience=audience, person__external_id__startswith=person_prefix)
        .exclude(Exists(has_consent))
        .order_by("id")
        .values_list("id", "person_id")
    )
    written = 0
    last_id = 0
    while True:
        batch = list(pending.filter(id__gt=last_id)[:CHUNK])
        if not batch:
            return written
        last_id = batch[-1][0]
        rows: list[Consent] = []
        for _id, person_id in batch:
            u = random.Random(seed * 7_000_003 + person_id).random()  # noqa: S311 - demo data
            if u < 0.05:
                rows.append(_consent(person_id, Channel.EMAIL, ConsentStatus.WITHDRAWN))
                continue
            rows.append(_consent(person_id, Channel.EMAIL, ConsentStatus.GRANTED))
            if u > 0.85:
                rows.append(_consent(person_id, Channel.SMS, ConsentStatus.GRANTED))
        Consent.objects.bulk_create(rows, batch_size=CHUNK, ignore_conflicts=True)
        written += len(rows)


def _consent(person_id: int, channel: str, status: str) -> Consent:
    return Consent(person_id=person_id, channel=channel, status=status, source="demo")
