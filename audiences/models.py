"""People, the audiences they belong to, and their per-channel consent."""

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from audiences.branding import BrandFields
from audiences.branding import Logo as Logo
from xmplatform.core.names import TranslationsField, translated_name
from xmplatform.core.search import Fold, Joined, StripPhone
from xmplatform.core.words import short_moment


def validate_time_zone(value: str) -> None:
    """Reject a time zone name the IANA database does not know."""
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("Unknown time zone %(tz)s; use an IANA name such as Europe/Istanbul."),
            params={"tz": value},
        )


class Channel(models.TextChoices):
    """A way to reach a person with a survey."""

    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")
    WHATSAPP = "whatsapp", _("WhatsApp")
    APP = "app", _("In-app")
    API = "api", _("API (the caller's own channel)")
    WEB = "web", _("Web link / QR code")


class AudienceKind(models.TextChoices):
    """What kind of relationship an audience has with the organisation."""

    CUSTOMER = "customer", _("Customer")
    PROSPECT = "prospect", _("Prospect")
    EMPLOYEE = "employee", _("Employee")
    FAN = "fan", _("Fan")
    SUPPLIER = "supplier", _("Supplier")
    DEALER = "dealer", _("Dealer")
    INVESTOR = "investor", _("Investor")
    ALUMNI = "alumni", _("Alumni")
    PARENT = "parent", _("Parent")
    MEDIA = "media", _("Media")
    PARTNER = "partner", _("Partner")
    OTHER = "other", _("Other")


class Audience(BrandFields):
    """A group of people the organisation serves, with an accountable owner."""

    slug = models.SlugField(_("slug"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_translations = TranslationsField(
        _("name per language"),
        default=dict,
        blank=True,
        help_text=_("The name in each language of the admin; an empty one shows the name above."),
    )
    kind = models.CharField(_("kind"), max_length=16, choices=AudienceKind.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_audiences",
        verbose_name=_("owner"),
        help_text=_("The person accountable for this audience's experience."),
    )
    priority = models.PositiveSmallIntegerField(
        _("priority rank"),
        default=100,
        help_text=_("Lower ranks first when audiences compete for one person's attention."),
    )
    description = models.TextField(_("description"), blank=True)
    requires_opt_in = models.BooleanField(
        _("requires explicit opt-in"),
        default=False,
        help_text=_("Only survey people who have explicitly granted consent for the channel."),
    )
    anonymity_threshold = models.PositiveSmallIntegerField(
        _("anonymity threshold"),
        default=5,
        help_text=_("Slices with fewer responses than this show no score."),
    )
    retention_months = models.PositiveSmallIntegerField(
        _("retention (months)"),
        null=True,
        blank=True,
        help_text=_(
            "After this many months, responses lose their link to the person, invitation and "
            "exact time (scores stay). Empty keeps the links."
        ),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["priority", "name"]
        verbose_name = _("audience")
        verbose_name_plural = _("audiences")

    def __str__(self) -> str:
        return translated_name(self.name, self.name_translations)

    def clean(self) -> None:
        self.clean_brand()
        if self.kind == AudienceKind.EMPLOYEE and self.anonymity_threshold < 5:
            raise ValidationError(
                {"anonymity_threshold": _("Employee audiences need a threshold of at least 5.")}
            )
        if self.anonymity_threshold < 3:
            raise ValidationError(
                {"anonymity_threshold": _("An anonymity threshold below 3 protects nobody.")}
            )


class Person(models.Model):
    """One human being, whatever audiences they belong to."""

    external_id = models.CharField(_("external id"), max_length=128, unique=True)
    email = models.EmailField(_("e-mail"), blank=True, db_index=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="en"
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Istanbul", validators=[validate_time_zone]
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # An erasure empties the row at once and deletes it once every app has erased what it
    # holds (audiences.services.erasure); until then this says it is on its way out.
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True, editable=False)
    # What people search finds them by (audiences.search): name, e-mail and external id folded
    # the Turkish way, and the phone's digits. Kept by the database on every write, however the
    # row is written (admin, API, import, bulk SQL); trigram-indexed on PostgreSQL.
    search_text = models.GeneratedField(
        expression=Joined(
            Fold(models.F("name")),
            Fold(models.F("email")),
            Fold(models.F("external_id")),
            StripPhone(models.F("phone")),
        ),
        output_field=models.TextField(),
        db_persist=True,
        verbose_name=_("search text"),
    )

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        # The people list filters by language, newest first: one index range per page.
        indexes = [models.Index(fields=["language", "id"], name="person_language_id")]

    def __str__(self) -> str:
        return self.name or self.external_id


class Membership(models.Model):
    """A person's place in one audience, with the attributes used to target and slice."""

    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("person")
    )
    audience = models.ForeignKey(
        Audience, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("audience")
    )
    segment = models.CharField(_("segment"), max_length=100, blank=True, db_index=True)
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    joined_on = models.DateField(_("joined on"), null=True, blank=True)
    left_on = models.DateField(_("left on"), null=True, blank=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["person", "audience"], name="membership_unique"),
        ]
        indexes = [
            models.Index(fields=["audience", "segment"], name="membership_aud_seg"),
            # A scoped list newest first: the audience's memberships, and its people, by id.
            models.Index(fields=["audience", "id"], name="membership_aud_id"),
            models.Index(fields=["audience", "person"], name="membership_aud_person"),
        ]

    def __str__(self) -> str:
        return f"{self.person} ∈ {self.audience}"


class ConsentStatus(models.TextChoices):
    GRANTED = "granted", _("Granted")
    WITHDRAWN = "withdrawn", _("Withdrawn (opted out)")


class ConsentOrigin(models.TextChoices):
    """Where a consent change was made; recorded in the audit log with the change."""

    ADMIN = "admin", _("Admin")
    API = "api", _("API")
    HOSTED_PAGE = "hosted_page", _("Hosted survey page")
    IMPORT = "import", _("File import")


class Consent(models.Model):
    """A person's explicit consent or opt-out for one channel; an opt-out always wins."""

    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="consents", verbose_name=_("person")
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=16, choices=ConsentStatus.choices)
    source = models.CharField(
        _("source"), max_length=64, blank=True, help_text=_("Where the change came from.")
    )
    changed_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(fields=["person", "channel"], name="consent_unique"),
        ]
        # The consent list filters by status or channel, newest first: opt-outs are few, and
        # without these a page of them would scan every consent.
        indexes = [
            models.Index(fields=["status", "id"], name="consent_status_id"),
            models.Index(fields=["channel", "id"], name="consent_channel_id"),
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.channel}: {self.status}"


# --- Access: who may see which audience, and the audit trail ---------------------------------


class Role(models.IntegerChoices):
    """What a grant allows on its audience; each role includes the ones below it."""

    VIEWER = 10, _("Viewer: scores only")
    ANALYST = 20, _("Analyst: scores, responses and exports")
    MANAGER = 30, _("Manager: configures journeys, surveys and distribution")


class AudienceGrant(models.Model):
    """One user's access to one audience, with a role."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="audience_grants",
        verbose_name=_("user"),
    )
    audience = models.ForeignKey(
        Audience, on_delete=models.CASCADE, related_name="grants", verbose_name=_("audience")
    )
    role = models.PositiveSmallIntegerField(_("role"), choices=Role.choices, default=Role.VIEWER)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("granted by"),
    )
    granted_at = models.DateTimeField(_("granted"), auto_now_add=True)

    class Meta:
        verbose_name = _("audience grant")
        verbose_name_plural = _("audience grants")
        constraints = [
            models.UniqueConstraint(fields=["user", "audience"], name="grant_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.audience} ({self.get_role_display()})"


class AuditAction(models.TextChoices):
    RESPONSES_VIEWED = "responses_viewed", _("Viewed responses")
    RESPONSES_EXPORTED = "responses_exported", _("Exported responses")
    PERSON_EXPORTED = "person_exported", _("Exported a person's data")
    PERSON_ERASED = "person_erased", _("Erased a person")
    PERSON_ERASURE_COMPLETED = "person_erasure_completed", _("Completed a person's erasure")
    GRANT_ADDED = "grant_added", _("Granted access")
    GRANT_CHANGED = "grant_changed", _("Changed access")
    GRANT_REMOVED = "grant_removed", _("Removed access")
    CONSENT_CHANGED = "consent_changed", _("Changed consent")
    INVITATION_REQUESTED = (
        "invitation_requested",
        _("Requested an invitation to an anonymous survey"),
    )


class AuditLog(models.Model):
    """Who viewed or exported responses, and who changed access or consent (append-only).

    It names people only by id, so an erasure leaves no name or address here.
    """

    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_username = models.CharField(_("actor's username"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=24, choices=AuditAction.choices)
    audience = models.ForeignKey(
        Audience,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("audience"),
    )
    target = models.CharField(_("target"), max_length=200, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        indexes = [models.Index(fields=["audience", "at"], name="audit_audience_at")]

    def __str__(self) -> str:
        return f"{short_moment(self.at)} {self.actor_username} {self.action} {self.target}"
