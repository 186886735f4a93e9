"""Small builders for test data; explicit values, no randomness."""

from django.contrib.auth import get_user_model

from audiences.models import Audience, AudienceKind, Membership, Person
from journeys.models import Journey, Stage, Touchpoint, TouchpointChannel


def make_user(username: str = "owner", **extra):  # noqa: ANN003, ANN201
    user, _ = get_user_model().objects.get_or_create(
        username=username, defaults={"email": f"{username}@example.com", **extra}
    )
    return user


def make_audience(slug: str = "customers", kind: str = AudienceKind.CUSTOMER, **extra) -> Audience:  # noqa: ANN003
    owner = extra.pop("owner", None) or make_user(f"{slug}-owner")
    return Audience.objects.create(
        slug=slug, name=extra.pop("name", slug.title()), kind=kind, owner=owner, **extra
    )


def make_person(external_id: str = "p-1", **extra) -> Person:  # noqa: ANN003
    extra.setdefault("email", f"{external_id}@example.com")
    return Person.objects.create(external_id=external_id, **extra)


def make_membership(person: Person, audience: Audience, **extra) -> Membership:  # noqa: ANN003
    return Membership.objects.create(person=person, audience=audience, **extra)


def make_touchpoint(
    audience: Audience,
    slug: str = "checkout",
    stage_name: str = "Purchase",
    **extra,  # noqa: ANN003
) -> Touchpoint:
    journey, _ = Journey.objects.get_or_create(audience=audience, name=f"{audience.name} journey")
    stage, _ = Stage.objects.get_or_create(journey=journey, name=stage_name)
    extra.setdefault("channel", TouchpointChannel.WEB)
    return Touchpoint.objects.create(stage=stage, slug=slug, name=slug.title(), **extra)
