"""API keys (only their hash is stored), webhooks and the log of webhook deliveries."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from audiences.models import Audience, Person
from xmplatform.api.destinations import validate_webhook_url


class ApiKey(models.Model):
    """A credential for another system; scoped to some audiences (none: all of them)."""

    name = models.CharField(_("name"), max_length=200)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(_("key hash"), max_length=64, editable=False)
    audiences = models.ManyToManyField(
        Audience,
        blank=True,
        related_name="api_keys",
        verbose_name=_("audiences"),
        help_text=_("The key sees and changes only these audiences; leave empty for all."),
    )
    read_only = models.BooleanField(_("read-only"), default=False)
    rate_per_minute = models.PositiveIntegerField(
        _("requests per minute"),
        default=600,
        help_text=_("Requests above this rate are refused with 429 and Retry-After."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class WebhookEvent(models.TextChoices):
    RESPONSE_COMPLETED = "response.completed", _("Response completed")
    ALERT_OPENED = "alert.opened", _("Alert opened")
    CASE_CHANGED = "case.changed", _("Case changed")


def default_events() -> list[str]:
    return list(WebhookEvent.values)


class Webhook(models.Model):
    """A URL that receives signed JSON events, optionally for one audience only."""

    name = models.CharField(_("name"), max_length=200)
    # Only http(s), and only hosts that resolve to public addresses (checked again at every
    # delivery, see xmplatform.api.destinations).
    url = models.URLField(_("URL"), max_length=500, validators=[validate_webhook_url])
    events = models.JSONField(
        _("events"),
        default=default_events,
        help_text=_('Event names to send, e.g. ["response.completed", "alert.opened"].'),
    )
    secret = models.CharField(
        _("signing secret"),
        max_length=64,
        help_text=_("Receivers verify the X-XM-Signature header with this secret."),
    )
    active = models.BooleanField(_("active"), default=True)
    audience = models.ForeignKey(
        Audience,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhooks",
        verbose_name=_("audience"),
        help_text=_("Only events of this audience; leave empty for all."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed (gave up)")


class WebhookDelivery(models.Model):
    """One event for one webhook, with every attempt's outcome; retried with backoff.

    Its first attempt is owed through the outbox (`webhook.due`, written with the row); a
    failed attempt sets `next_attempt_at` for the retry beat, as does the lease of an attempt
    in progress (a worker that dies mid-post).

    `error` keeps our own description of the last failure: the status line for an HTTP status
    (standard reason phrase), never the receiver's reply body.
    """

    webhook = models.ForeignKey(
        Webhook, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("webhook")
    )
    event = models.CharField(_("event"), max_length=64, choices=WebhookEvent.choices)
    object_id = models.BigIntegerField(_("object id"))
    # Which change of the object: 0 for what happens once to an object (a response completed,
    # an alert opened); for `case.changed`, the outbox message of that change, so every change
    # of a case is logged once per webhook.
    change = models.BigIntegerField(_("change"), default=0, editable=False)
    payload = models.JSONField(_("payload"))
    # Erasing the person deletes the deliveries that carry their data.
    person = models.ForeignKey(
        Person,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("person"),
    )
    state = models.CharField(
        _("state"), max_length=12, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    status_code = models.PositiveSmallIntegerField(_("last status code"), null=True, blank=True)
    error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["webhook", "event", "object_id", "change"], name="webhook_delivery_once"
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state="pending"),
                name="webhook_delivery_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} #{self.object_id} → {self.webhook}"
