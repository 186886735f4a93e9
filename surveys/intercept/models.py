"""A website or app that shows a survey to its visitors through /intercept.js."""

import secrets
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from audiences.models import Audience

DEFAULT_PORTS = {"http": 80, "https": 443}


def new_public_key() -> str:
    return "pk_" + secrets.token_urlsafe(18)


def new_secret() -> str:
    return "sk_" + secrets.token_urlsafe(32)


def normalize_origin(value: str) -> str:
    """`value` as a browser's Origin header writes it (lower case, no default port), or
    ValidationError naming what is wrong with it."""
    text = str(value).strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if (
        parts is None
        or parts.scheme.lower() not in DEFAULT_PORTS
        or not parts.hostname
        or parts.username is not None
        or parts.password is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or "*" in text
    ):
        raise ValidationError(
            _(
                "%(value)s is not an origin. Write the scheme, host and port only, e.g. "
                "https://www.example.com or http://localhost:8000 (no path, no wildcard)."
            ),
            code="origin",
            params={"value": text or '""'},
        )
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def validate_origins(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError(
            _('Write the allowed origins as a list, e.g. ["https://www.example.com"].'),
            code="origins",
        )
    for origin in value:
        normalize_origin(origin)


class DisplayMode(models.TextChoices):
    MODAL = "modal", _("Window over the page (iframe)")
    SLIDE_IN = "slide_in", _("Panel sliding in from the side")


class InterceptSite(models.Model):
    """A website or app that may show one survey to its visitors (see surveys.intercept)."""

    name = models.CharField(_("name"), max_length=200)
    audience = models.ForeignKey(
        Audience,
        on_delete=models.PROTECT,
        related_name="intercept_sites",
        verbose_name=_("audience"),
        help_text=_("Signed-in visitors are looked up among this audience's members only."),
    )
    survey = models.ForeignKey(
        "surveys.Survey",
        on_delete=models.CASCADE,
        related_name="intercept_sites",
        verbose_name=_("survey"),
    )
    public_key = models.CharField(
        _("public key"), max_length=40, unique=True, default=new_public_key, editable=False
    )
    secret = models.CharField(
        _("signing secret"), max_length=64, default=new_secret, editable=False
    )
    allowed_origins = models.JSONField(
        _("allowed origins"),
        default=list,
        validators=[validate_origins],
        help_text=_(
            "The pages that may show the survey, as scheme, host and port, e.g. "
            '["https://www.example.com", "https://app.example.com"]. Only these may ask '
            "for a survey and frame it."
        ),
    )
    sampling_rate = models.FloatField(
        _("sampling rate"),
        default=0.1,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text=_("The share of visitors asked, from 0 to 1 (0.1: one visitor in ten)."),
    )
    display = models.CharField(
        _("display"), max_length=12, choices=DisplayMode.choices, default=DisplayMode.MODAL
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("website intercept")
        verbose_name_plural = _("website intercepts")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if isinstance(self.allowed_origins, list):
            try:
                self.allowed_origins = list(
                    dict.fromkeys(normalize_origin(o) for o in self.allowed_origins)
                )
            except ValidationError as error:
                raise ValidationError({"allowed_origins": error}) from error
        if self.survey_id and self.audience_id and self.survey.audience_id != self.audience_id:
            raise ValidationError(
                {"survey": _("Choose a survey of the site's audience.")}, code="audience"
            )
