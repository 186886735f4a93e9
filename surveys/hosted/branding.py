"""A survey's brand on its hosted pages: the logo, the colours and font as CSS custom properties,
and the thank-you page's call to action.

The CSS goes in a <style> element with the request's CSP nonce (style-src has no
'unsafe-inline'); its values are only checked hex colours and the fixed font stacks of
audiences.branding, never text a user typed. The call to action's link is only the configured
one: nothing in the request can choose where the thank-you page sends a respondent.
"""

from typing import Any
from urllib.parse import urlsplit

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from audiences.branding import Brand, brand_merge
from surveys.models import Survey


def survey_brand(survey: Survey) -> Brand:
    """`survey`'s brand over its audience's (no query when the audience is loaded with it)."""
    return brand_merge(override=survey, base=survey.audience)


def brand_css(brand: Brand) -> SafeString:
    """The :root custom properties of `brand`, "" for the platform's look."""
    variables = brand.css_variables()
    if not variables:
        return mark_safe("")  # noqa: S308 - empty
    declarations = " ".join(f"{name}: {value};" for name, value in variables.items())
    # Safe: css_variables only gives checked hex colours and constant font stacks.
    return mark_safe(f":root {{ {declarations} }}")  # noqa: S308


def brand_context(survey: Survey) -> dict[str, Any]:
    """What the hosted pages' frame needs of `survey`'s brand."""
    return brand_frame(survey_brand(survey))


def brand_frame(brand: Brand) -> dict[str, Any]:
    """What a page showing `brand` needs: the brand, its CSS and its logo's URL."""
    return {
        "brand": brand,
        "brand_css": brand_css(brand),
        "brand_logo_url": reverse("surveys:logo", kwargs={"sha256": brand.logo})
        if brand.logo
        else "",
    }


def brand_cta(brand: Brand) -> dict[str, Any] | None:
    """The thank-you page's button: only the brand's configured link, never one from the
    request; None without a link."""
    if not brand.cta_url:
        return None
    return {
        "text": brand.cta_text or _("Continue"),
        "url": brand.cta_url,
        "seconds": brand.redirect_seconds,
        "host": urlsplit(brand.cta_url).hostname or "",
    }
