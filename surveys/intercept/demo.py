"""The demo's website intercept (`seed_demo`): the checkout survey on http://127.0.0.1:8000."""

from typing import Any

from django.db import transaction

from surveys.intercept.models import DisplayMode, InterceptSite
from surveys.models import PublicLink, Survey

DEMO_SITE = "Demo shop (intercept)"
DEMO_SURVEY = "Checkout satisfaction (CSAT)"
DEMO_ORIGINS = ["http://127.0.0.1:8000", "http://localhost:8000"]
DEMO_LINK = "demo-shop-checkout"


@transaction.atomic
def seed_intercept(*, stdout: Any = None) -> InterceptSite | None:
    """The demo site for the checkout survey (every visitor asked), and the survey's public
    link for anonymous visitors; kept as they are when present."""
    survey = Survey.objects.filter(audience__slug="customers", name=DEMO_SURVEY).first()
    if survey is None:
        return None
    if not PublicLink.objects.filter(survey=survey).exists():
        PublicLink.objects.create(survey=survey, slug=DEMO_LINK)
    site, created = InterceptSite.objects.get_or_create(
        name=DEMO_SITE,
        defaults={
            "audience_id": survey.audience_id,
            "survey": survey,
            "allowed_origins": DEMO_ORIGINS,
            "sampling_rate": 1.0,
            "display": DisplayMode.MODAL,
        },
    )
    if stdout is not None:
        state = "created" if created else "kept"
        stdout.write(
            f"Intercept: {DEMO_SITE} {state} ({site.public_key}); see it working at "
            "http://127.0.0.1:8000/intercept/demo/ (?user=<external id> signs a visitor in)."
        )
    return site
