"""Reads of the website intercept: a site by its key, the origins that may frame a survey."""

from audiences.models import Person
from surveys.intercept.models import InterceptSite
from surveys.models import PublicLink


def site_for_key(key: str) -> InterceptSite | None:
    """The site with public key `key` (active or not), with its survey; one query."""
    if not key or len(key) > 40:
        return None
    return InterceptSite.objects.select_related("survey").filter(public_key=key).first()


def frame_origins(*, survey_id: int) -> list[str]:
    """The origins that may frame `survey_id`'s intercept pages: the union of the allowed
    origins of its active sites, sorted (an empty list: nobody may)."""
    lists = InterceptSite.objects.filter(survey_id=survey_id, active=True).values_list(
        "allowed_origins", flat=True
    )
    return sorted({origin for origins in lists for origin in origins or []})


def member_for_external_id(*, audience_id: int, external_id: str) -> Person | None:
    """The current member of `audience_id` with `external_id`, or None; one query. A person of
    another audience only is None, exactly like nobody."""
    return Person.objects.filter(
        external_id=external_id,
        memberships__audience_id=audience_id,
        memberships__left_on__isnull=True,
    ).first()


def public_link_for(*, survey_id: int) -> PublicLink | None:
    """`survey_id`'s active public link, or None."""
    return PublicLink.objects.filter(survey_id=survey_id, active=True).first()
