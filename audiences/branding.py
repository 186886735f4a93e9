"""An audience's look on the hosted survey pages, which each survey may override.

A brand is a logo, a primary colour, a font stack and a thank-you call to action (a button to a
URL, optionally followed after some seconds). Audience and Survey both carry `BrandFields`;
blank on a survey means "the audience's", blank on an audience means the platform's look.
`brand_merge` is the one place the two are combined.

Colours are refused under 4.5:1 against white text (WCAG 2.x relative luminance), because
buttons and selected answers put white text on them. Fonts are chosen from a fixed list of
system font stacks, so no value a user types ever reaches the page's CSS. Logos are uploaded
(PNG, JPEG or WebP, sniffed from their bytes, never SVG) and stored in the database by their
SHA-256, so every server of a self-hosted install can serve them and no third-party host
learns who opened a survey.
"""

import hashlib
import math
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

HEX_COLOUR = re.compile(r"^#[0-9a-f]{6}$")
WHITE = "#ffffff"
MIN_TEXT_CONTRAST = 4.5  # WCAG 1.4.3: white text on the colour
MIN_RING_CONTRAST = 3.0  # WCAG 1.4.11: the focus ring against what surrounds it
# The hosted pages' own colours (surveys/static/surveys/survey.css): what a brand colour
# replaces, the page and card backgrounds a focus ring sits on, and the ring's fallback.
DEFAULT_COLOUR = "#0b5cad"
PAGE_BACKGROUNDS = ("#ffffff", "#f4f6f8")
RING_FALLBACK = "#1b1f24"

LOGO_MAX_BYTES = 200 * 1024
LOGO_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WebP"}
REDIRECT_MIN_SECONDS, REDIRECT_MAX_SECONDS = 5, 120


class Font(models.TextChoices):
    """A font stack from the fonts already on respondents' devices (no download, no tracking)."""

    SYSTEM = "system", _("System (the device's own)")
    HUMANIST = "humanist", _("Humanist sans-serif")
    GEOMETRIC = "geometric", _("Geometric sans-serif")
    SERIF = "serif", _("Serif")
    ROUNDED = "rounded", _("Rounded")


# CSS font-family values by Font: constants, so a brand can never inject CSS.
FONT_STACKS = {
    Font.SYSTEM: 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", Arial, sans-serif',
    Font.HUMANIST: (
        'Seravek, "Gill Sans Nova", Ubuntu, Calibri, "DejaVu Sans", source-sans-pro, sans-serif'
    ),
    Font.GEOMETRIC: 'Avenir, Montserrat, Corbel, "URW Gothic", source-sans-pro, sans-serif',
    Font.SERIF: 'Charter, "Bitstream Charter", "Sitka Text", Cambria, "Noto Serif", serif',
    Font.ROUNDED: (
        'ui-rounded, "Hiragino Maru Gothic ProN", Quicksand, Comfortaa, Manjari, '
        '"Arial Rounded MT", "Arial Rounded MT Bold", Calibri, source-sans-pro, sans-serif'
    ),
}


# --- Colour arithmetic (WCAG 2.x) ----------------------------------------------------------


def _channels(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance of a #rrggbb colour, 0 (black) to 1 (white)."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in _channels(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours, 1 to 21."""
    a, b = relative_luminance(first), relative_luminance(second)
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def mix(colour: str, other: str, share: float) -> str:
    """`colour` with `share` (0–1) of `other` mixed in, as #rrggbb."""
    channels = zip(_channels(colour), _channels(other), strict=True)
    return "#" + "".join(f"{round(a + (b - a) * share):02x}" for a, b in channels)


def darkest_needed(colour: str, against: str, ratio: float) -> str:
    """`colour`, darkened towards black just enough to reach `ratio` against `against`."""
    for step in range(21):
        darker = mix(colour, "#000000", step / 20)
        if contrast_ratio(darker, against) >= ratio:
            return darker
    return "#000000"


def ring_colour(colour: str) -> str:
    """The focus ring for a page of `colour`: the colour itself when it keeps 3:1 against every
    background the ring sits on, else the dark fallback."""
    if all(contrast_ratio(colour, bg) >= MIN_RING_CONTRAST for bg in PAGE_BACKGROUNDS):
        return colour
    return RING_FALLBACK


def _ratio_shown(ratio: float) -> str:
    # Rounded down: 4.47 must not read as the 4.5 it misses.
    return f"{math.floor(ratio * 10) / 10:.1f}"


# --- Validation ----------------------------------------------------------------------------


def validate_brand_colour(value: str) -> None:
    """A #rrggbb colour white text can be read on (at least 4.5:1)."""
    if not value:
        return
    colour = value.strip().lower()
    if not HEX_COLOUR.match(colour):
        raise ValidationError(
            _("Give the colour as # and six hexadecimal digits, e.g. #0b5cad."),
            code="colour_format",
        )
    ratio = contrast_ratio(colour, WHITE)
    if ratio < MIN_TEXT_CONTRAST:
        raise ValidationError(
            _(
                "The colour %(colour)s has a contrast of %(ratio)s:1 against white text; "
                "choose one of at least 4.5:1."
            ),
            code="colour_contrast",
            params={"colour": colour, "ratio": _ratio_shown(ratio)},
        )


validate_cta_url = URLValidator(
    schemes=["http", "https"],
    message=_("Give a web address starting with https:// (or http://)."),
)


def logo_content_type(data: bytes) -> str | None:
    """The image type `data` really is (PNG, JPEG or WebP), from its first bytes, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def validate_logo_size(size: int) -> None:
    """Refuse a logo over LOGO_MAX_BYTES, saying its size and the limit."""
    if size > LOGO_MAX_BYTES:
        raise ValidationError(
            _("The logo is %(size)s KB; upload one of at most %(max)s KB."),
            code="logo_size",
            params={"size": math.ceil(size / 1024), "max": LOGO_MAX_BYTES // 1024},
        )


def validate_logo(data: bytes) -> str:
    """The content type of an acceptable logo; ValidationError saying what to upload instead."""
    validate_logo_size(len(data))
    content_type = logo_content_type(data)
    if content_type is None:
        raise ValidationError(
            _("Upload the logo as a PNG, JPEG or WebP image (SVG is not accepted)."),
            code="logo_type",
        )
    return content_type


# --- Models --------------------------------------------------------------------------------


class Logo(models.Model):
    """An uploaded logo, stored once by its SHA-256 (its id, and the last part of its URL)."""

    sha256 = models.CharField(_("SHA-256"), max_length=64, primary_key=True)
    content_type = models.CharField(_("content type"), max_length=32)
    data = models.BinaryField(_("image"))
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        app_label = "audiences"
        verbose_name = _("logo")
        verbose_name_plural = _("logos")

    def __str__(self) -> str:
        return f"{self.sha256[:12]} ({LOGO_TYPES.get(self.content_type, self.content_type)})"


class BrandFields(models.Model):
    """The brand columns an audience has, and a survey has to override its audience's."""

    brand_logo = models.ForeignKey(
        Logo,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("logo"),
    )
    brand_colour = models.CharField(
        _("primary colour"),
        max_length=7,
        blank=True,
        validators=[validate_brand_colour],
        help_text=_("Buttons, links and selected answers; white text must be readable on it."),
    )
    brand_font = models.CharField(_("font"), max_length=16, blank=True, choices=Font.choices)
    brand_cta_text = models.CharField(
        _("thank-you button text"),
        max_length=80,
        blank=True,
        help_text=_("The button on the thank-you page; empty says “Continue”."),
    )
    # A CharField, so the one validator (http and https only) gives the one message.
    brand_cta_url = models.CharField(
        _("thank-you button link"),
        max_length=500,
        blank=True,
        validators=[validate_cta_url],
        help_text=_("Where the thank-you page's button leads (http or https)."),
    )
    brand_redirect_seconds = models.PositiveSmallIntegerField(
        _("go to the link after (seconds)"),
        null=True,
        blank=True,
        validators=[
            MinValueValidator(REDIRECT_MIN_SECONDS),
            MaxValueValidator(REDIRECT_MAX_SECONDS),
        ],
        help_text=_("Empty: stay on the thank-you page until the button is pressed."),
    )

    class Meta:
        abstract = True

    def clean_brand(self) -> None:
        """The call to action's parts need its link; the colour is stored lower case."""
        self.brand_colour = (self.brand_colour or "").strip().lower()
        errors: dict[str, Any] = {}
        if not self.brand_cta_url:
            if self.brand_cta_text:
                errors["brand_cta_url"] = _("Give the link the thank-you button leads to.")
            if self.brand_redirect_seconds is not None:
                errors["brand_redirect_seconds"] = _(
                    "Give the link to go to, or leave the seconds empty."
                )
        if errors:
            raise ValidationError(errors)


# --- Reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Brand:
    """The look of one survey's hosted pages: the survey's brand over its audience's."""

    logo: str = ""  # the logo's SHA-256, "" for none
    colour: str = ""  # "" for the platform's
    font: str = ""  # a Font value, "" for the platform's
    cta_text: str = ""
    cta_url: str = ""
    redirect_seconds: int | None = None

    @property
    def font_stack(self) -> str:
        return FONT_STACKS.get(self.font, "")  # type: ignore[call-overload]

    def css_variables(self) -> dict[str, str]:
        """The custom properties the hosted pages' CSS reads, for this brand's colour and
        font; empty for the platform's look. Every value is a checked hex colour or one of
        FONT_STACKS, so the result is safe to place in a <style> element."""
        variables: dict[str, str] = {}
        if HEX_COLOUR.match(self.colour):
            soft = mix(self.colour, WHITE, 0.88)
            variables.update(
                {
                    "--brand": self.colour,
                    # Hover, and the current language's text on the soft background.
                    "--brand-dark": darkest_needed(
                        mix(self.colour, "#000000", 0.2), soft, MIN_TEXT_CONTRAST
                    ),
                    "--brand-soft": soft,
                    # Links on the grey page background need their own 4.5:1.
                    "--brand-text": darkest_needed(
                        self.colour, PAGE_BACKGROUNDS[1], MIN_TEXT_CONTRAST
                    ),
                    "--focus": ring_colour(self.colour),
                }
            )
        if self.font_stack:
            variables["--font"] = self.font_stack
        return variables


def brand_merge(*, override: BrandFields, base: BrandFields) -> Brand:
    """`override`'s brand (a survey's) over `base`'s (its audience's), field by field; the
    call to action is taken whole, from the first that has a link. Reads only the two rows."""

    def first(name: str) -> str:
        return str(getattr(override, name) or getattr(base, name) or "")

    cta = override if override.brand_cta_url else base
    colour = first("brand_colour").lower()
    return Brand(
        logo=str(override.brand_logo_id or base.brand_logo_id or ""),  # type: ignore[attr-defined]
        colour=colour if HEX_COLOUR.match(colour) else "",
        font=first("brand_font"),
        cta_text=cta.brand_cta_text if cta.brand_cta_url else "",
        cta_url=cta.brand_cta_url,
        redirect_seconds=cta.brand_redirect_seconds if cta.brand_cta_url else None,
    )


def logo_get(sha256: str) -> Logo | None:
    """The logo stored under `sha256`, or None."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256 or ""):
        return None
    return Logo.objects.filter(pk=sha256).first()


# --- Writing -------------------------------------------------------------------------------


def logo_store(*, data: bytes) -> Logo:
    """The stored logo for `data` (validated by validate_logo), stored once per content."""
    content_type = validate_logo(data)
    digest = hashlib.sha256(data).hexdigest()
    logo, _created = Logo.objects.get_or_create(
        sha256=digest, defaults={"content_type": content_type, "data": data}
    )
    return logo
