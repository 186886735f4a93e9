"""A survey's "branding" object as authoring sends and reads it (audiences.branding).

    "branding": {"colour": "#0b5cad", "font": "serif", "cta_text": "Back to the shop",
                 "cta_url": "https://shop.example.com/", "redirect_seconds": 10,
                 "logo": "https://…/s/logo/<sha256>/"}

Every key is optional on a write, and an empty value ("" or null) gives the part back to the
audience's brand. The checks are the model's (the admin's): a colour needs 4.5:1 against white
text, a link http or https, a button text or seconds a link. A logo is uploaded in the admin;
here "logo" is read only: null removes the survey's own logo, its own URL keeps it.
"""

from collections.abc import Mapping
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext as _

from surveys.models import Survey
from surveys.versions.cleaning import Errors, add

# The API's keys and the survey's columns.
BRANDING_KEYS = {
    "colour": "brand_colour",
    "font": "brand_font",
    "cta_text": "brand_cta_text",
    "cta_url": "brand_cta_url",
    "redirect_seconds": "brand_redirect_seconds",
    "logo": "brand_logo",
}
_KEY_OF = {column: key for key, column in BRANDING_KEYS.items()}


def branding_shape(survey: Survey) -> dict[str, Any]:
    """`survey`'s own brand in the API's shape ("" and null: the audience's)."""
    logo = survey.brand_logo_id  # type: ignore[attr-defined]
    return {
        "colour": survey.brand_colour,
        "font": survey.brand_font,
        "cta_text": survey.brand_cta_text,
        "cta_url": survey.brand_cta_url,
        "redirect_seconds": survey.brand_redirect_seconds,
        "logo": str(settings.SITE_URL) + reverse("surveys:logo", kwargs={"sha256": logo})
        if logo
        else None,
    }


def _column_value(key: str, column: str, raw: Any, errors: Errors) -> Any:
    path = f"branding.{key}"
    field: Any = Survey._meta.get_field(column)
    if key == "redirect_seconds":
        if raw is None or raw == "":
            return None
        if isinstance(raw, bool) or not isinstance(raw, int):
            add(errors, path, _("Give a whole number of seconds, or null to stay on the page."))
            return None
    else:
        raw = "" if raw is None else raw
        if not isinstance(raw, str):
            add(errors, path, _("Give a text, or an empty one for the audience's."))
            return ""
        raw = raw.strip()
        if key == "colour":
            raw = raw.lower()
        max_length = getattr(field, "max_length", None)
        if max_length and len(raw) > max_length:
            add(errors, path, _("At most %(n)d characters.") % {"n": max_length})
            return ""
        if key == "font" and raw and raw not in [c[0] for c in field.choices or []]:
            add(
                errors,
                path,
                _("Choose one of: %(values)s.")
                % {"values": ", ".join(str(c[0]) for c in field.choices or [])},
            )
            return ""
    if raw not in ("", None):
        try:
            field.run_validators(raw)
        except ValidationError as exc:
            for message in exc.messages:
                add(errors, path, message)
    return raw


def clean_branding(value: Any, survey: Survey | None, errors: Errors) -> dict[str, Any]:
    """The survey's brand columns `value` (the "branding" object) sets; messages by path
    ("branding.colour") in `errors`."""
    if not isinstance(value, Mapping):
        add(errors, "branding", _('Give the branding as an object, e.g. {"colour": "#0b5cad"}.'))
        return {}
    out: dict[str, Any] = {}
    for key in sorted(set(value) - set(BRANDING_KEYS)):
        add(
            errors,
            f"branding.{key}",
            _("Unknown field; branding has: %(fields)s.")
            % {"fields": ", ".join(sorted(BRANDING_KEYS))},
        )
    for key, column in BRANDING_KEYS.items():
        if key not in value:
            continue
        if key == "logo":
            kept = survey is not None and value[key] == branding_shape(survey)["logo"]
            if kept:
                continue  # what GET returned, sent back unchanged
            if value[key] is not None:
                add(
                    errors,
                    "branding.logo",
                    _("Upload a logo in the admin; here only null (remove the logo) is taken."),
                )
            else:
                out[column] = None
            continue
        out[column] = _column_value(key, column, value[key], errors)
    # The call to action's parts together, as the model checks them (Survey.clean_brand).
    probe = Survey(
        **{
            column: getattr(survey, column) if survey is not None else field.get_default()
            for column in BRANDING_KEYS.values()
            if column != "brand_logo"
            for field in [cast(Any, Survey._meta.get_field(column))]
        }
    )
    for column, item in out.items():
        if column != "brand_logo":
            setattr(probe, column, item)
    try:
        probe.clean_brand()
    except ValidationError as exc:
        for column, messages in exc.message_dict.items():
            for message in messages:
                add(errors, f"branding.{_KEY_OF.get(column, column)}", message)
    return out
