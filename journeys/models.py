"""Journey maps (journeys, stages, touchpoints) and the touchpoint events people experience."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from audiences.models import Audience, Person
from xmplatform.core.names import TranslationsField, translated_name
from xmplatform.core.words import short_moment


class TouchpointChannel(models.TextChoices):
    WEB = "web", _("Web")
    APP = "app", _("App")
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    PHONE = "phone", _("Phone")
    CHAT = "chat", _("Chat")
    STORE = "store", _("Store")
    IN_PERSON = "in-person", _("In person")
    SOCIAL = "social", _("Social")
    OTHER = "other", _("Other")


class TouchpointRole(models.TextChoices):
    """What an event at this touchpoint means for operational metrics."""

    NONE = "", _("None")
    PURCHASE = "purchase", _("Purchase (attribute: value)")
    SIGNUP = "signup", _("Sign-up / new customer")
    TRIAL_STARTED = "trial_started", _("Trial started")
    TRIAL_CONVERTED = "trial_converted", _("Trial converted to paid")
    CHURNED = "churned", _("Churned / left")
    REFERRAL = "referral", _("Referred purchase")
    SUPPORT_REQUEST = (
        "support_request",
        _("Support request (attributes: handling_seconds, first_contact_resolved)"),
    )


class Journey(models.Model):
    """The path one audience takes with the organisation."""

    audience = models.ForeignKey(
        Audience, on_delete=models.CASCADE, related_name="journeys", verbose_name=_("audience")
    )
    name = models.CharField(_("name"), max_length=200)
    name_translations = TranslationsField(
        _("name per language"),
        default=dict,
        blank=True,
        help_text=_("The name in each language of the admin; an empty one shows the name above."),
    )
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["audience", "name"]
        verbose_name = _("journey")
        verbose_name_plural = _("journeys")
        constraints = [
            models.UniqueConstraint(fields=["audience", "name"], name="journey_unique_name"),
        ]

    def __str__(self) -> str:
        return translated_name(self.name, self.name_translations)


class Stage(models.Model):
    """One step of a journey, e.g. onboarding."""

    journey = models.ForeignKey(
        Journey, on_delete=models.CASCADE, related_name="stages", verbose_name=_("journey")
    )
    name = models.CharField(_("name"), max_length=200)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["journey", "order", "id"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")

    def __str__(self) -> str:
        return self.name


class Touchpoint(models.Model):
    """A named moment on a channel within a stage, e.g. "support ticket closed"."""

    stage = models.ForeignKey(
        Stage, on_delete=models.CASCADE, related_name="touchpoints", verbose_name=_("stage")
    )
    slug = models.SlugField(_("slug"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    channel = models.CharField(_("channel"), max_length=16, choices=TouchpointChannel.choices)
    role = models.CharField(
        _("metric role"), max_length=32, choices=TouchpointRole.choices, blank=True, default=""
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["stage", "order", "id"]
        verbose_name = _("touchpoint")
        verbose_name_plural = _("touchpoints")

    def __str__(self) -> str:
        return self.name


class TouchpointEvent(models.Model):
    """Person P experienced touchpoint T at time t; triggers surveys and feeds metrics."""

    # Events are the busiest insert of the platform, so the table carries only the indexes its
    # reads need: the two (…, occurred_at) indexes also serve lookups and cascades by person
    # or touchpoint alone, and the key is unique through a constraint, which (unlike
    # unique=True) adds no LIKE index on PostgreSQL: keys are only ever matched exactly.
    person = models.ForeignKey(
        Person,
        on_delete=models.CASCADE,
        related_name="events",
        verbose_name=_("person"),
        db_index=False,
    )
    touchpoint = models.ForeignKey(
        Touchpoint,
        on_delete=models.CASCADE,
        related_name="events",
        verbose_name=_("touchpoint"),
        db_index=False,
    )
    occurred_at = models.DateTimeField(_("occurred at"))
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=128, null=True, blank=True)

    class Meta:
        verbose_name = _("touchpoint event")
        verbose_name_plural = _("touchpoint events")
        indexes = [
            models.Index(fields=["touchpoint", "occurred_at"], name="event_tp_time"),
            models.Index(fields=["person", "occurred_at"], name="event_person_time"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="event_idempotency_key_once"),
        ]

    def __str__(self) -> str:
        return f"{self.person} @ {self.touchpoint} {short_moment(self.occurred_at)}"
